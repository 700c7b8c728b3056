//! HTTP plumbing: accept loop, response body type, request dispatch.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::dispatch::{self, Service};
use crate::flight::{CallMeta, InFlightGuard};
use crate::identity::{DEFAULT_REGION, parse_scope};
use crate::model::Fault;
use crate::reply::Reply;
use crate::state::Shared;
use crate::{control, guardduty};

/// Response body: either a complete body, or (ResetMidResponse) a prefix of
/// the body followed by an error, which makes hyper drop the connection.
pub(crate) struct RespBody {
    data: Option<Bytes>,
    /// `Some` => after sending `data`, wait for this timer (so the partial
    /// response is flushed to the socket), then fail.
    reset_after: Option<Pin<Box<tokio::time::Sleep>>>,
    exact_len: Option<u64>,
    guard: Option<InFlightGuard>,
}

impl RespBody {
    fn full(data: Bytes, guard: Option<InFlightGuard>) -> RespBody {
        RespBody {
            exact_len: Some(data.len() as u64),
            data: if data.is_empty() { None } else { Some(data) },
            reset_after: None,
            guard,
        }
    }

    fn partial(data: Bytes, guard: Option<InFlightGuard>) -> RespBody {
        RespBody {
            exact_len: None,
            data: if data.is_empty() { None } else { Some(data) },
            reset_after: Some(Box::pin(tokio::time::sleep(Duration::from_millis(20)))),
            guard,
        }
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(d) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if let Some(sleep) = this.reset_after.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.reset_after = None;
            this.guard.take();
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "emulator: injected ResetMidResponse",
            ))));
        }
        this.guard.take();
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.reset_after.is_none() && self.exact_len == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// Accepts connections until `shutdown` fires (or its sender is dropped), then
/// aborts every connection task and waits for them. Connection tasks live in a
/// `JoinSet` owned by this task, so aborting the task also tears them down.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                drop(listener);
                conns.shutdown().await;
                return;
            }
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req| handle(shared.clone(), req));
                        let _ = http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

fn into_response(reply: Reply, body: RespBody, extra_len: Option<usize>) -> Response<RespBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (k, v) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().append(k, v);
        }
    }
    if let Some(len) = extra_len {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

pub(crate) fn plain(reply: Reply) -> Response<RespBody> {
    let body = RespBody::full(reply.body.clone(), None);
    into_response(reply, body, None)
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return Ok(plain(control::handle(
            &shared,
            &parts.method,
            &path,
            query.as_deref(),
            &body,
        )));
    }

    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authorized = authorization.is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"));
    let scope = authorization.and_then(parse_scope);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json: Option<serde_json::Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let routed = dispatch::route(
        &parts.method,
        &path,
        target.as_deref(),
        scope.as_ref(),
        &body,
    );
    let region = scope
        .as_ref()
        .map_or(DEFAULT_REGION, |s| s.region.as_str())
        .to_string();
    let (caller, refused) = {
        let st = shared.lock();
        let key = scope.as_ref().map(|s| s.access_key_id.as_str());
        (
            st.iam.caller(key, &st.admin_account_id, &region),
            routed.service == Service::GuardDuty && st.regions.refuses(&region),
        )
    };
    let meta = CallMeta {
        op: routed.op,
        service: routed.service.name(),
        accounts: dispatch::accounts_in(&routed, json.as_ref(), &body),
        disable_email_notification: guardduty::disable_email_notification_in(
            routed.op,
            json.as_ref()
                .filter(|_| routed.service == Service::GuardDuty),
        ),
        authorized,
        region,
        account: caller.account.clone(),
        trace_id: parts
            .headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        faultable: authorized && !refused,
    };
    let (mut guard, fault, latency, seq) = InFlightGuard::begin(&shared, meta);
    let request_id = format!("00000000-0000-4000-8000-{seq:012x}");

    if let Some(d) = latency {
        tokio::time::sleep(d).await;
    }

    let reply = if !authorized {
        dispatch::unsigned(routed.service, &request_id)
    } else if refused {
        guardduty::region_refused()
    } else {
        match fault {
            Some(Fault::Hang) => {
                // Keep the request (and the in-flight count) open until the
                // emulator stops and this future is dropped.
                let never: Infallible = std::future::pending().await;
                match never {}
            }
            Some(f @ (Fault::Throttle | Fault::ServerError | Fault::AccessDenied)) => {
                dispatch::fault_reply(&routed, f, &caller, &body, &request_id)
            }
            _ => {
                let mut st = shared.lock();
                dispatch::execute(
                    &mut st,
                    &routed,
                    &caller,
                    &parts.method,
                    &path,
                    query.as_deref(),
                    &body,
                    &request_id,
                )
            }
        }
    };
    let reply = reply
        .header("x-amzn-RequestId", request_id.clone())
        .header("x-amz-request-id", request_id);
    guard.status = Some(reply.status);

    Ok(match fault {
        Some(Fault::InvalidJson) if authorized => {
            let mut r = reply;
            r.status = 200;
            r.body = Bytes::from_static(
                b"<html><body><h1>502 Bad Gateway</h1> emulator: injected InvalidJson {\"",
            );
            guard.status = Some(200);
            let body = RespBody::full(r.body.clone(), Some(guard));
            into_response(r, body, None)
        }
        Some(Fault::ResetMidResponse) if authorized => {
            let full = reply.body.clone();
            let half = full.slice(..full.len() / 2);
            let claimed = full.len() + 64;
            let body = RespBody::partial(half, Some(guard));
            into_response(reply, body, Some(claimed))
        }
        _ => {
            let body = RespBody::full(reply.body.clone(), Some(guard));
            into_response(reply, body, None)
        }
    })
}
