"""A minimal Amazon States Language interpreter for statemachine/inviter.asl.json.

It covers exactly what that definition uses, with JSONata as the query
language: Choice (Condition), Fail, Pass (Assign, Output), Map (Items,
ItemSelector, MaxConcurrency, inline ItemProcessor, Output) and Task
(Arguments, Output, Retry, Catch), plus the Step Functions JSONata functions
`$partition` and `$parse`. JSONata itself is evaluated by the `jsonata-python`
package, a port of the jsonata-js 2.x engine that Step Functions runs
(test_jsonata_parity.py checks the two agree on this definition).

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

# jsonata-python keeps per-thread state but is not documented as thread-safe;
# the Map state runs iterations on threads, so evaluations are serialised.
_JSONATA_LOCK = threading.Lock()

_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


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


def _compile(expr: str):
    compiled = jsonata.Jsonata(expr)
    compiled.register_lambda("partition", _partition)
    compiled.register_lambda("parse", _parse)
    return compiled


def evaluate(expr: str, states: dict, variables: dict) -> Any:
    """Evaluates one JSONata expression with `$states` and the workflow
    variables bound, as Step Functions does. An undefined result is an error
    (JSON cannot carry it)."""
    with _JSONATA_LOCK:
        compiled = _compile(expr)
        bindings = dict(variables)
        bindings["states"] = states
        try:
            result = compiled.evaluate(None, bindings)
        except Exception as e:  # jsonata.JException and friends
            raise StatesError("States.QueryEvaluationError", str(e)) from e
    if result is None and not _defined_null(expr, states, variables):
        raise StatesError("States.QueryEvaluationError", f"undefined result: {expr}")
    return result


def _defined_null(expr: str, states: dict, variables: dict) -> bool:
    # jsonata-python returns None for both JSON null and undefined. Tell them
    # apart by asking whether the expression exists.
    with _JSONATA_LOCK:
        probe = _compile(f"$exists(({expr}))")
        bindings = dict(variables)
        bindings["states"] = states
        return bool(probe.evaluate(None, bindings))


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
    caught: list[tuple[str, str]] = field(default_factory=list)  # (error, catcher Next)
    map_items: list[Any] = field(default_factory=list)
    max_concurrency: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


TaskHandler = Callable[[str, dict], Any]
"""(resource, arguments) -> result, or raises StatesError."""


_SUPPORTED = {
    "Choice": {"Type", "Choices", "Default", "Comment", "QueryLanguage"},
    "Fail": {"Type", "Error", "Cause", "Comment", "QueryLanguage"},
    "Pass": {"Type", "Assign", "Output", "Next", "End", "Comment", "QueryLanguage"},
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
        return self._run_states(self.definition, execution_input, {}, {})

    # ------------------------------------------------------------------
    def _run_states(self, machine: dict, value: Any, variables: dict, context: dict) -> Any:
        states = machine["States"]
        name = machine["StartAt"]
        while True:
            state = states[name]
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
                raise ExecutionFailed(state.get("Error", ""), state.get("Cause", ""))

            if kind == "Pass":
                output = value
                new_vars = render(state.get("Assign", {}), sctx, variables)
                if "Output" in state:
                    output = render(state["Output"], sctx, variables)
                variables = {**variables, **new_vars}
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
                result = self.task(state["Resource"], copy.deepcopy(arguments))
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
        rctx = {**sctx, "result": results}
        return render(state["Output"], rctx, variables) if "Output" in state else results
