"""A minimal Amazon States Language interpreter for statemachine/inviter.asl.json.

It covers exactly what that definition uses, with JSONata as the query
language: Choice (Condition), Fail (Error, Cause, both JSONata), Pass (Assign,
Output), Wait (Seconds), Map (Items, ItemSelector, MaxConcurrency, inline
ItemProcessor, Output) and Task (Arguments, Output, Retry, Catch), workflow
variables with Step Functions' rule that every Assign and Output of a state
sees the variables as they were before the state, plus the Step Functions
JSONata functions `$partition` and `$parse`. JSONata itself is evaluated by
the `jsonata-python` package, a port of the jsonata-js 2.x engine that Step
Functions runs (test_jsonata_parity.py checks the two agree on every
expression of this definition).

It enforces Step Functions' payload quotas: a state's input or output, and a
variable, of more than 256 KiB (262,144 bytes of UTF-8 JSON) fails the
execution with States.DataLimitExceeded, as the service does.

It is a test double for the service, not a general interpreter: anything the
definition starts using that is not covered raises NotImplementedError, so a
change to the definition cannot silently go untested.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import jsonata
from jsonata.utils import Utils

NULL = Utils.NULL_VALUE

# jsonata-python keeps per-thread state but is not documented as thread-safe;
# the Map state runs iterations on threads, so evaluations are serialised.
_JSONATA_LOCK = threading.Lock()

_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# Step Functions quotas: the input or output of a state, and one variable,
# at most 256 KiB; all the variables of one execution at most 10 MiB.
PAYLOAD_LIMIT = 256 * 1024
VARIABLES_LIMIT = 10 * 1024 * 1024

# When a list, every evaluation is appended to it as (expression, $states,
# variables): test_jsonata_parity.py replays them on jsonata-js.
RECORDER: list | None = None


def load_definition(path: str, substitutions: dict[str, Any]) -> dict:
    """Reads an ASL file and applies DefinitionSubstitutions as CloudFormation
    does: `${Key}` replaced by the value's text, before the JSON is parsed."""
    text = open(path, encoding="utf-8").read()

    def replace(m: re.Match) -> str:
        key = m.group(1)
        if key not in substitutions:
            raise KeyError(f"no DefinitionSubstitution for ${{{key}}}")
        return str(substitutions[key])

    return json.loads(_SUBSTITUTION.sub(replace, text))


class StatesError(Exception):
    """An error as Step Functions names it (`Error`) with its `Cause`."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class ExecutionFailed(Exception):
    def __init__(self, error: str, cause: str):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


def _partition(array, size):
    """Step Functions' $partition(array, chunkSize)."""
    if not isinstance(array, list):
        array = [array]
    n = int(size)
    if n < 1:
        raise StatesError("States.QueryEvaluationError", "$partition size must be >= 1")
    return [array[i : i + n] for i in range(0, len(array), n)]


def _parse(text):
    """Step Functions' $parse(jsonString)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise StatesError("States.QueryEvaluationError", f"$parse: {e}") from e


_COMPILED: dict[str, Any] = {}


def _compile(expr: str):
    compiled = _COMPILED.get(expr)
    if compiled is None:
        compiled = jsonata.Jsonata(expr)
        compiled.register_lambda("partition", _partition)
        compiled.register_lambda("parse", _parse)
        # Keep JSON null (Utils.NULL_VALUE) apart from undefined (None).
        compiled.set_output_convert_nulls(False)
        _COMPILED[expr] = compiled
    return compiled


def _to_jsonata(value: Any) -> Any:
    """JSON null as jsonata-python's null; a plain None would be undefined."""
    if value is None:
        return NULL
    if isinstance(value, list):
        return [_to_jsonata(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_jsonata(v) for k, v in value.items()}
    return value


def _from_jsonata(value: Any) -> Any:
    """Back to JSON: null to None; an undefined member of an object is left
    out, as JSON.stringify leaves it out in Step Functions."""
    if value is NULL:
        return None
    if isinstance(value, list):
        return [_from_jsonata(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_jsonata(v) for k, v in value.items() if v is not None}
    return value


def size_of(value: Any) -> int:
    """Bytes of a JSON value as Step Functions counts them (UTF-8)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def evaluate(expr: str, states: dict, variables: dict) -> Any:
    """Evaluates one JSONata expression with `$states` and the workflow
    variables bound, as Step Functions does. An undefined result is an error
    (JSON cannot carry it)."""
    with _JSONATA_LOCK:
        if RECORDER is not None:
            RECORDER.append((expr, copy.deepcopy(states), copy.deepcopy(variables)))
        compiled = _compile(expr)
        bindings = {k: _to_jsonata(v) for k, v in variables.items()}
        bindings["states"] = _to_jsonata(states)
        try:
            result = compiled.evaluate(None, bindings)
        except Exception as e:  # jsonata.JException and friends
            raise StatesError("States.QueryEvaluationError", str(e)) from e
    if result is None:
        raise StatesError("States.QueryEvaluationError", f"undefined result: {expr}")
    return _from_jsonata(result)


def render(template: Any, states: dict, variables: dict) -> Any:
    """Evaluates a JSONata-mode field: `{% expr %}` strings anywhere in a JSON
    value; everything else is literal."""
    if isinstance(template, str):
        if template.startswith("{%") and template.endswith("%}"):
            return evaluate(template[2:-2].strip(), states, variables)
        return template
    if isinstance(template, list):
        return [render(v, states, variables) for v in template]
    if isinstance(template, dict):
        return {k: render(v, states, variables) for k, v in template.items()}
    return template


def _matches(error_equals: list[str], error: str) -> bool:
    if "States.ALL" in error_equals:
        return True
    return error in error_equals


@dataclass
class Trace:
    """What happened during one execution, for assertions."""

    task_calls: list[dict] = field(default_factory=list)  # every attempt
    retry_delays: list[float] = field(default_factory=list)
    waits: list[Any] = field(default_factory=list)  # Wait states' Seconds, in order
    states: list[str] = field(default_factory=list)  # every state entered (outer machine)
    caught: list[tuple[str, str]] = field(default_factory=list)  # (error, catcher Next)
    map_items: list[Any] = field(default_factory=list)
    round_sizes: list[int] = field(default_factory=list)  # items of each Map run, in order
    max_concurrency: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


TaskHandler = Callable[[str, dict], Any]
"""(resource, arguments) -> result, or raises StatesError."""


_SUPPORTED = {
    "Choice": {"Type", "Choices", "Default", "Comment", "QueryLanguage"},
    "Fail": {"Type", "Error", "Cause", "Comment", "QueryLanguage"},
    "Pass": {"Type", "Assign", "Output", "Next", "End", "Comment", "QueryLanguage"},
    "Wait": {"Type", "Seconds", "Next", "End", "Comment", "QueryLanguage"},
    "Map": {
        "Type", "Items", "ItemSelector", "MaxConcurrency", "ItemProcessor",
        "Output", "Next", "End", "Comment", "QueryLanguage",
    },
    "Task": {
        "Type", "Resource", "Arguments", "Output", "Retry", "Catch", "Next",
        "End", "Comment", "QueryLanguage",
    },
}
_RETRIER_FIELDS = {
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate",
    "MaxDelaySeconds", "JitterStrategy",
}
_CATCHER_FIELDS = {"ErrorEquals", "Output", "Next"}


class Machine:
    def __init__(self, definition: dict, task: TaskHandler, trace: Trace | None = None):
        if definition.get("QueryLanguage") != "JSONata":
            raise NotImplementedError("only QueryLanguage JSONata is interpreted")
        self.definition = definition
        self.task = task
        self.trace = trace or Trace()

    def run(self, execution_input: Any) -> Any:
        self._limit("the execution input", execution_input)
        return self._run_states(self.definition, execution_input, {}, {}, top=True)

    @staticmethod
    def _limit(what: str, value: Any) -> None:
        n = size_of(value)
        if n > PAYLOAD_LIMIT:
            raise ExecutionFailed(
                "States.DataLimitExceeded",
                f"{what} is {n} bytes, more than the {PAYLOAD_LIMIT} bytes Step Functions allows",
            )

    # ------------------------------------------------------------------
    def _run_states(self, machine: dict, value: Any, variables: dict, context: dict, top: bool = False) -> Any:
        states = machine["States"]
        name = machine["StartAt"]
        while True:
            state = states[name]
            if top:
                self.trace.states.append(name)
            kind = state["Type"]
            unknown = set(state) - _SUPPORTED.get(kind, set())
            if kind not in _SUPPORTED or unknown:
                raise NotImplementedError(f"state {name}: {kind} {sorted(unknown)}")
            if state.get("QueryLanguage", "JSONata") != "JSONata":
                raise NotImplementedError(f"state {name}: JSONPath")
            sctx = {"input": value, "context": context}

            if kind == "Choice":
                nxt = state.get("Default")
                for choice in state["Choices"]:
                    if set(choice) - {"Condition", "Next"}:
                        raise NotImplementedError(f"choice rule {choice}")
                    cond = render(choice["Condition"], sctx, variables)
                    if not isinstance(cond, bool):
                        raise StatesError("States.QueryEvaluationError", "Condition is not boolean")
                    if cond:
                        nxt = choice["Next"]
                        break
                if nxt is None:
                    raise ExecutionFailed("States.NoChoiceMatched", name)
                name = nxt
                continue

            if kind == "Fail":
                raise ExecutionFailed(
                    render(state.get("Error", ""), sctx, variables),
                    render(state.get("Cause", ""), sctx, variables),
                )

            if kind == "Wait":
                seconds = render(state["Seconds"], sctx, variables)
                integral = isinstance(seconds, int) or (isinstance(seconds, float) and seconds.is_integer())
                if isinstance(seconds, bool) or not integral or seconds < 0:
                    raise StatesError("States.QueryEvaluationError", f"Wait Seconds is not a non-negative integer: {seconds!r}")
                self.trace.waits.append(seconds)
                output = value
            elif kind == "Pass":
                output = value
                # Assign and Output both see the variables as they were
                # before this state.
                new_vars = render(state.get("Assign", {}), sctx, variables)
                if "Output" in state:
                    output = render(state["Output"], sctx, variables)
                for var, val in new_vars.items():
                    self._limit(f"variable ${var} (state {name})", val)
                self._limit(f"the Assign of state {name}", new_vars)
                variables = {**variables, **new_vars}
                if size_of(variables) > VARIABLES_LIMIT:
                    raise ExecutionFailed("States.DataLimitExceeded", f"variables over {VARIABLES_LIMIT} bytes")
            elif kind == "Map":
                output = self._map(name, state, sctx, variables, context)
            elif kind == "Task":
                output, caught_next = self._task(name, state, sctx, variables)
                if caught_next is not None:
                    value = output
                    name = caught_next
                    continue
            else:  # pragma: no cover - guarded above
                raise NotImplementedError(kind)

            self._limit(f"the output of state {name}", output)
            if state.get("End"):
                return output
            value = output
            name = state["Next"]

    # ------------------------------------------------------------------
    def _task(self, name: str, state: dict, sctx: dict, variables: dict):
        """Runs a Task with its retriers and catchers. Returns (output, None)
        on success, or (catcher output, catcher Next) when an error is caught."""
        arguments = render(state.get("Arguments", {}), sctx, variables)
        retriers = state.get("Retry", [])
        catchers = state.get("Catch", [])
        for r in retriers:
            if set(r) - _RETRIER_FIELDS:
                raise NotImplementedError(f"retrier {r}")
        for c in catchers:
            if set(c) - _CATCHER_FIELDS:
                raise NotImplementedError(f"catcher {c}")
        attempts = [0] * len(retriers)
        while True:
            try:
                with self.trace.lock:
                    self.trace.task_calls.append(copy.deepcopy(arguments))
                self._limit(f"the arguments of task {name}", arguments)
                result = self.task(state["Resource"], copy.deepcopy(arguments))
                self._limit(f"the result of task {name}", result)
                rctx = {**sctx, "result": result}
                out = render(state["Output"], rctx, variables) if "Output" in state else result
                return out, None
            except StatesError as err:
                # The first retrier whose ErrorEquals matches applies; once it
                # is exhausted the error goes to the catchers.
                i = next((i for i, r in enumerate(retriers) if _matches(r["ErrorEquals"], err.error)), None)
                if i is not None and attempts[i] < retriers[i].get("MaxAttempts", 3):
                    r = retriers[i]
                    delay = r.get("IntervalSeconds", 1) * r.get("BackoffRate", 2.0) ** attempts[i]
                    if "MaxDelaySeconds" in r:
                        delay = min(delay, r["MaxDelaySeconds"])
                    attempts[i] += 1
                    with self.trace.lock:
                        self.trace.retry_delays.append(delay)
                    continue
                for catcher in catchers:
                    if _matches(catcher["ErrorEquals"], err.error):
                        ectx = {**sctx, "errorOutput": {"Error": err.error, "Cause": err.cause}}
                        out = render(catcher["Output"], ectx, variables) if "Output" in catcher else ectx["errorOutput"]
                        with self.trace.lock:
                            self.trace.caught.append((err.error, catcher["Next"]))
                        return out, catcher["Next"]
                raise

    # ------------------------------------------------------------------
    def _map(self, name: str, state: dict, sctx: dict, variables: dict, context: dict):
        items = render(state.get("Items", "{% $states.input %}"), sctx, variables)
        if not isinstance(items, list):
            raise StatesError("States.QueryEvaluationError", "Map Items is not an array")
        processor = state["ItemProcessor"]
        if processor.get("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
            raise NotImplementedError("only inline Map")
        inputs = []
        for index, item in enumerate(items):
            ictx = {**sctx, "context": {**context, "Map": {"Item": {"Index": index, "Value": item}}}}
            inputs.append(render(state["ItemSelector"], ictx, variables) if "ItemSelector" in state else item)
        self.trace.map_items.extend(copy.deepcopy(inputs))
        self.trace.round_sizes.append(len(inputs))

        limit = state.get("MaxConcurrency", 0)
        workers = limit if isinstance(limit, int) and limit > 0 else max(1, len(inputs))
        in_flight = 0
        peak = 0
        lock = threading.Lock()

        def one(iteration_input):
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                return self._run_states(processor, iteration_input, dict(variables), context)
            finally:
                with lock:
                    in_flight -= 1

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, inputs))
        self.trace.max_concurrency[name] = peak
        self._limit(f"the result of Map {name}", results)
        rctx = {**sctx, "result": results}
        return render(state["Output"], rctx, variables) if "Output" in state else results
