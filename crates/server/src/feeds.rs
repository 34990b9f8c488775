//! `POST /api/v1/feeds`: a feed file as the request body, streamed to the feed run as it
//! arrives (memory does not grow with the upload), and the run summary back.

#![allow(
    unused_qualifications,
    reason = "utoipa's path macro expands to qualified paths"
)]

use std::collections::HashMap;
use std::io::Read;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use schakel_app::{App, FeedInput, FeedOptions};
use schakel_feeds::Format;
use schakel_formats::feed::{
    FeedPurgeRecord, FeedRunDetailRecord, FeedRunRecord, FeedSectionRecord, FeedSummaryRecord,
    StandingApprovalRecord,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::routes::{JsonBody, blocking, bool_param, number_param, query_params};
use crate::wire::{Page, Paging};
use crate::{ApiError, Problem};

pub(crate) fn routes(limits: crate::Limits) -> OpenApiRouter<App> {
    // Only uploads carry the limit (a `Copy` value, set on their requests alone).
    let uploads = OpenApiRouter::new()
        .routes(routes!(ingest_feed))
        .layer(axum::Extension(limits));
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(list_approvals, give_approval))
        .routes(routes!(revoke_approval))
        .routes(routes!(list_runs))
        .routes(routes!(show_run))
        .routes(routes!(inbox_rows))
        .routes(routes!(purge_rows))
}

/// A retention purge.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PurgeBody {
    /// Runs that started before this date (midnight in Amsterdam).
    pub before: String,
}

#[utoipa::path(post, path = "/api/v1/feeds/purge", tag = "feeds", request_body = PurgeBody,
    responses((status = 200, description = "The runs whose rows were deleted, and those still needing them", body = FeedPurgeRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn purge_rows(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<FeedPurgeRecord>, ApiError> {
    let body: PurgeBody = serde_path_to_error::deserialize(body)
        .map_err(|e| ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string()))?;
    let before =
        schakel_domain::parse_date(&body.before).map_err(|e| ApiError::bad_field("before", e.0))?;
    Ok(Json(
        blocking(&app, move |app| app.purge_feed_rows(&p, before)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/feeds/runs", tag = "feeds",
    params(("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query)),
    responses((status = 200, description = "Feed runs that sent, newest first", body = Page<FeedRunRecord>),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_runs(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Page<FeedRunRecord>>, ApiError> {
    let params = query_params(raw, &["page", "per_page"])?;
    let paging = Paging::from_params(&params)?;
    let (items, total) = blocking(&app, move |app| {
        app.feed_runs(&p, paging.per_page, paging.offset())
    })
    .await?;
    Ok(Json(paging.of(items, total)))
}

#[utoipa::path(get, path = "/api/v1/feeds/runs/{id}", tag = "feeds",
    params(("id" = String, Path, description = "The run (`run_…`)")),
    responses((status = 200, description = "The run: each message with its item's status and whether its deliveries went out and were acknowledged, and the summary as recorded", body = FeedRunDetailRecord),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_run(
    State(app): State<App>,
    Caller(p): Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<FeedRunDetailRecord>, ApiError> {
    Ok(Json(
        blocking(&app, move |app| app.feed_run(&p, &id)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/inbox/{id}/rows", tag = "inbox",
    params(("id" = String, Path, description = "The delivery's id (of a feed message)"),
           ("member" = Option<String>, Query, description = "only this organisation's rows"),
           ("format" = Option<String>, Query, description = "`json` (default: sections) or `csv` (one organisation's rows; give `member` when there are several)"),
           ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query, description = "rows per organisation (default 50, at most 1000); CSV gives all rows")),
    responses((status = 200, description = "Per organisation the message has a section for, its rows with every column of the source (JSON), or one organisation's rows as CSV",
               content((Vec<FeedSectionRecord> = "application/json"), (String = "text/csv"))),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Not in your inbox, or not a feed message", body = Problem, content_type = "application/problem+json")))]
async fn inbox_rows(
    State(app): State<App>,
    Caller(p): Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = query_params(raw, &["member", "format", "page", "per_page"])?;
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_field(
                "format",
                format!("`{other}` is not `json` or `csv`"),
            ));
        }
    };
    let paging = Paging::from_params(&params)?;
    let (limit, offset) = if csv {
        (u64::MAX >> 1, 0)
    } else {
        (paging.per_page, paging.offset())
    };
    let member = params.get("member").cloned();
    let sections = blocking(&app, move |app| {
        app.inbox_rows(&p, &id, member.as_deref(), limit, offset)
    })
    .await?;
    if !csv {
        return Ok(Json(sections).into_response());
    }
    match sections.as_slice() {
        [one] => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            one.csv(),
        )
            .into_response()),
        _ => Err(ApiError::bad_field(
            "member",
            format!(
                "CSV holds one organisation's rows; give `member`, one of: {}",
                sections
                    .iter()
                    .map(|s| s.organisation.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A standing approval to give.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalBody {
    /// The report type (`scan_http`).
    pub report: String,
    /// Why, or under which conditions.
    #[serde(default)]
    pub note: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/feeds/approvals", tag = "feeds",
    responses((status = 200, description = "Every standing approval, revoked ones too", body = Vec<StandingApprovalRecord>)))]
async fn list_approvals(
    State(app): State<App>,
    Caller(p): Caller,
) -> Result<Json<Vec<StandingApprovalRecord>>, ApiError> {
    Ok(Json(
        blocking(&app, move |app| app.feed_approvals(&p)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/feeds/approvals", tag = "feeds", request_body = ApprovalBody,
    responses((status = 201, body = StandingApprovalRecord),
              (status = 409, description = "The report type has a live standing approval", body = Problem, content_type = "application/problem+json")))]
async fn give_approval(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<(axum::http::StatusCode, Json<StandingApprovalRecord>), ApiError> {
    let body: ApprovalBody = serde_path_to_error::deserialize(body)
        .map_err(|e| ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string()))?;
    let record = blocking(&app, move |app| {
        app.approve_feed_report(&p, &body.report, body.note.as_deref())
    })
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(record)))
}

#[utoipa::path(delete, path = "/api/v1/feeds/approvals/{report}", tag = "feeds",
    params(("report" = String, Path, description = "The report type")),
    responses((status = 204, description = "Revoked (kept, marked revoked)"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_approval(
    State(app): State<App>,
    Caller(p): Caller,
    axum::extract::Path(report): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    blocking(&app, move |app| app.revoke_feed_report(&p, &report)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The request body as a blocking reader, fed chunk by chunk from the connection.
struct BodyReader {
    chunks: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

/// What the answer is when an upload went past the limit.
fn too_large(limit: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "a feed file posted here holds at most {limit} bytes (`[api] max_upload_mb`); nothing of this run was kept"
    ))
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[utoipa::path(post, path = "/api/v1/feeds", tag = "feeds",
    params(("format" = String, Query, description = "shadowserver, stix or misp (a mapped CSV needs its mapping file: use the CLI)"),
           ("name" = Option<String>, Query, description = "the file's name; a Shadowserver name `YYYY-MM-DD-<report>-….csv` gives the report type"),
           ("report" = Option<String>, Query, description = "the report type (overrides the name)"),
           ("plan_only" = Option<bool>, Query, description = "read and plan, change nothing (default false: the run sends, under each report type's standing approval)"),
           ("window" = Option<u64>, Query, description = "days a notified host and issue is not notified again (default 7)")),
    request_body(description = "the feed file, streamed: a Shadowserver CSV, a STIX 2.1 bundle or a MISP document (any shape MISP exports)",
        content((String = "text/csv"), (serde_json::Value = "application/json"))),
    responses((status = 200, body = FeedSummaryRecord),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 413, description = "The file is larger than the server accepts", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn ingest_feed(
    State(app): State<App>,
    Caller(p): Caller,
    axum::Extension(limits): axum::Extension<crate::Limits>,
    Query(raw): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Json<FeedSummaryRecord>, ApiError> {
    let limit = limits.upload_bytes;
    // Refused before a byte is read when the client says how much is coming.
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large(limit));
    }
    let params = query_params(raw, &["format", "name", "report", "plan_only", "window"])?;
    let format = params
        .get("format")
        .ok_or_else(|| ApiError::bad_field("format", "give shadowserver, stix or misp"))?;
    let format = match Format::parse(format) {
        Some(Format::Csv) => {
            return Err(ApiError::bad_field(
                "format",
                "a mapped CSV needs its mapping file: use `schakel feed ingest --format csv --mapping FILE`",
            ));
        }
        Some(f) => f,
        None => {
            return Err(ApiError::bad_field(
                "format",
                format!("`{format}` is not shadowserver, stix or misp"),
            ));
        }
    };
    let plan_only = bool_param(&params, "plan_only")?;
    let window = number_param(&params, "window", 7, 3650)?;
    let options = FeedOptions {
        report: params.get("report").cloned(),
        plan_only,
        window_days: u32::try_from(window).unwrap_or(7),
        ..FeedOptions::default()
    };
    let name = params.get("name").cloned().unwrap_or_else(|| "-".into());
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over = std::sync::Arc::clone(&exceeded);
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut received = 0u64;
        while let Some(chunk) = stream.next().await {
            received += chunk.as_ref().map_or(0, |c| c.len() as u64);
            let chunk = if received > limit {
                over.store(true, std::sync::atomic::Ordering::SeqCst);
                Err(std::io::Error::other(
                    "the upload is larger than the server accepts",
                ))
            } else {
                chunk.map_err(std::io::Error::other)
            };
            let stop = chunk.is_err();
            if tx.send(chunk).await.is_err() || stop {
                break;
            }
        }
    });
    let input = FeedInput {
        path: name,
        format,
        reader: Box::new(BodyReader {
            chunks: rx,
            current: Bytes::new(),
        }),
    };
    let summary = blocking(&app, move |app| {
        app.ingest_feed(&p, vec![input], &options, &mut |_| {})
    })
    .await;
    if exceeded.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(too_large(limit));
    }
    Ok(Json(summary?))
}
