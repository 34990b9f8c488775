//! Distribution routes: items, plans, approval, sending, the outbox (staff) and the inbox
//! (recipients).

#![allow(
    unused_qualifications,
    reason = "utoipa's path macro expands to qualified paths"
)]

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schakel_app::App;
use schakel_domain::{Channel, DeliveryState, ItemKind, ItemStatus, OrgSlug, Tlp};
use schakel_formats::item::{
    DeliveryRecord, InboxEntryRecord, ItemAnswer, ItemRecord, ItemSummaryRecord, PlanRecord,
    ReviewRecord, SendRecord,
};
use schakel_store::{DeliveryQuery, ItemQuery};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::routes::{JsonBody, blocking, body_bytes, json_of, query_params};
use crate::wire::{Page, Paging};
use crate::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, correct_item))
        .routes(routes!(retract_item))
        .routes(routes!(item_plan))
        .routes(routes!(approve_item))
        .routes(routes!(send_item))
        .routes(routes!(outbox))
        .routes(routes!(inbox))
        .routes(routes!(acknowledge))
        .routes(routes!(forwarded))
        .routes(routes!(members))
        .routes(routes!(audit_export))
        .routes(routes!(reviews))
}

/// The plan hash the caller saw (optional).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanHashBody {
    /// The `plan_hash` of the plan looked at; when it differs from today's, nothing
    /// happens.
    pub plan_hash: Option<String>,
}

/// A forwarding confirmation.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardedBody {
    /// The member the item was passed on to.
    pub member: String,
}

fn parsed<T: std::str::FromStr<Err = schakel_domain::ValueError>>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|v| v.parse::<T>().map_err(|e| ApiError::bad_field(name, e.0)))
        .transpose()
}

/// An optional JSON body: none at all (also an empty one that says it is JSON), or JSON.
pub(crate) struct OptionalJson(pub(crate) Option<serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for OptionalJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (is_json, bytes) = body_bytes(req, state).await?;
        if bytes.trim_ascii().is_empty() {
            return Ok(OptionalJson(None));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        json_of(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// The plan hash of an optional body: absent or `{}` means none.
fn plan_hash(body: OptionalJson) -> Result<Option<String>, ApiError> {
    match body.0 {
        None => Ok(None),
        Some(value) => serde_path_to_error::deserialize::<_, PlanHashBody>(value)
            .map(|b| b.plan_hash)
            .map_err(|e| ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string())),
    }
}

#[utoipa::path(get, path = "/api/v1/items", tag = "distribution",
    params(("status" = Option<String>, Query, description = "draft, awaiting_approval, approved, sent or retracted"),
           ("kind" = Option<String>, Query), ("tlp" = Option<String>, Query),
           ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query)),
    responses((status = 200, body = Page<ItemSummaryRecord>),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_items(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Page<ItemSummaryRecord>>, ApiError> {
    let params = query_params(raw, &["status", "kind", "tlp", "page", "per_page"])?;
    let paging = Paging::from_params(&params)?;
    let query = ItemQuery {
        status: parsed::<ItemStatus>(&params, "status")?,
        kind: parsed::<ItemKind>(&params, "kind")?,
        tlp: parsed::<Tlp>(&params, "tlp")?,
        offset: paging.offset(),
        limit: paging.per_page,
    };
    let found = blocking(&app, move |app| app.items(&p, &query)).await?;
    Ok(Json(paging.of(
        found.items.iter().map(schakel_app::item_summary).collect(),
        found.total,
    )))
}

#[utoipa::path(post, path = "/api/v1/items", tag = "distribution", request_body = ItemRecord,
    responses((status = 201, body = ItemAnswer),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_item(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let view = blocking(&app, move |app| app.create_item(&p, body)).await?;
    let location = format!("/api/v1/items/{}", view.row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view.answer()),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    responses((status = 200, body = ItemAnswer),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_item(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<ItemAnswer>, ApiError> {
    let view = blocking(&app, move |app| app.item(&p, &id)).await?;
    Ok(Json(view.answer()))
}

#[utoipa::path(get, path = "/api/v1/items/{id}/plan", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    responses((status = 200, description = "Every candidate decided: permits with channels, denies with reasons and remedies", body = PlanRecord),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn item_plan(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<PlanRecord>, ApiError> {
    let plan = blocking(&app, move |app| app.plan(&p, &id)).await?;
    Ok(Json(plan.record()))
}

#[utoipa::path(post, path = "/api/v1/items/{id}/approve", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    request_body(content = PlanHashBody, description = "Optional: the plan hash approved"),
    responses((status = 200, description = "The plan approved", body = PlanRecord),
              (status = 403, description = "The creator cannot approve (four eyes)", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The plan changed", body = Problem, content_type = "application/problem+json")))]
async fn approve_item(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: OptionalJson,
) -> Result<Json<PlanRecord>, ApiError> {
    let expected = plan_hash(body)?;
    let (plan, _) = blocking(&app, move |app| {
        app.approve_item(&p, &id, expected.as_deref())
    })
    .await?;
    Ok(Json(plan.record()))
}

#[utoipa::path(post, path = "/api/v1/items/{id}/send", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    request_body(content = PlanHashBody, description = "Optional: the plan hash shown when sending was ordered"),
    responses((status = 200, body = SendRecord),
              (status = 409, description = "Needs approval, or the plan differs from the one approved or shown: nothing was sent", body = Problem, content_type = "application/problem+json")))]
async fn send_item(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: OptionalJson,
) -> Result<Json<SendRecord>, ApiError> {
    let expected = plan_hash(body)?;
    let report = blocking(&app, move |app| app.send_item(&p, &id, expected.as_deref())).await?;
    Ok(Json(report.record()))
}

#[utoipa::path(get, path = "/api/v1/outbox", tag = "distribution",
    params(("item" = Option<String>, Query), ("recipient" = Option<String>, Query),
           ("channel" = Option<String>, Query), ("state" = Option<String>, Query),
           ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query)),
    responses((status = 200, body = Page<DeliveryRecord>),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn outbox(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Page<DeliveryRecord>>, ApiError> {
    let params = query_params(
        raw,
        &["item", "recipient", "channel", "state", "page", "per_page"],
    )?;
    let paging = Paging::from_params(&params)?;
    let recipient = params
        .get("recipient")
        .map(|s| OrgSlug::parse(s).map_err(|e| ApiError::bad_field("recipient", e.0)))
        .transpose()?;
    let query = DeliveryQuery {
        item_id: params.get("item").cloned(),
        recipient,
        channel: parsed::<Channel>(&params, "channel")?,
        state: parsed::<DeliveryState>(&params, "state")?,
        offset: paging.offset(),
        limit: paging.per_page,
        ..DeliveryQuery::default()
    };
    let found = blocking(&app, move |app| app.outbox(&p, &query)).await?;
    Ok(Json(
        paging.of(
            found
                .deliveries
                .iter()
                .map(schakel_app::delivery_record)
                .collect(),
            found.total,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/inbox", tag = "inbox",
    params(("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query)),
    responses((status = 200, description = "Exactly what was delivered to the caller's organisation", body = Page<InboxEntryRecord>),
              (status = 403, description = "Not a recipient token", body = Problem, content_type = "application/problem+json")))]
async fn inbox(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Page<InboxEntryRecord>>, ApiError> {
    let params = query_params(raw, &["page", "per_page"])?;
    let paging = Paging::from_params(&params)?;
    let (items, total) = blocking(&app, move |app| {
        app.inbox(&p, paging.offset(), paging.per_page)
    })
    .await?;
    Ok(Json(paging.of(items, total)))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/ack", tag = "inbox",
    params(("id" = String, Path, description = "The delivery's id")),
    responses((status = 200, body = InboxEntryRecord),
              (status = 404, description = "Not in your inbox", body = Problem, content_type = "application/problem+json")))]
async fn acknowledge(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<InboxEntryRecord>, ApiError> {
    Ok(Json(
        blocking(&app, move |app| app.acknowledge(&p, &id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/forwarded", tag = "inbox",
    params(("id" = String, Path, description = "The delivery's id")),
    request_body = ForwardedBody,
    responses((status = 200, body = InboxEntryRecord),
              (status = 404, description = "Not in your inbox", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Not a member you received it for", body = Problem, content_type = "application/problem+json")))]
async fn forwarded(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<InboxEntryRecord>, ApiError> {
    let body: ForwardedBody = serde_path_to_error::deserialize(body)
        .map_err(|e| ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string()))?;
    Ok(Json(
        blocking(&app, move |app| {
            app.confirm_forwarded(&p, &id, &body.member)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("from" = String, Query, description = "First day (YYYY-MM-DD, Europe/Amsterdam)"),
           ("to" = String, Query, description = "Last day, inclusive")),
    responses((status = 200, description = "The chain's state, every entry of the period and every delivery made in it (recipient, channel, state, basis, route, rulebook version)", body = serde_json::Value),
              (status = 403, description = "Not a legal officer", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn audit_export(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query_params(raw, &["from", "to"])?;
    let date = |name: &str| -> Result<schakel_domain::Date, ApiError> {
        let value = params
            .get(name)
            .ok_or_else(|| ApiError::bad_field(name, "required (YYYY-MM-DD)"))?;
        schakel_domain::parse_date(value).map_err(|e| ApiError::bad_field(name, e.0))
    };
    let (from, to) = (date("from")?, date("to")?);
    Ok(Json(
        blocking(&app, move |app| app.export_audit(&p, from, to)).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/items/{id}", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    request_body = ItemRecord,
    responses((status = 200, description = "The new version; once sent, a correction goes to exactly the earlier recipients", body = ItemAnswer),
              (status = 409, description = "Retracted", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn correct_item(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ItemAnswer>, ApiError> {
    let view = blocking(&app, move |app| app.correct_item(&p, &id, body)).await?;
    Ok(Json(view.answer()))
}

/// Why an item is retracted (optional).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetractBody {
    /// Told to the recipients.
    pub reason: Option<String>,
}

/// What retracting did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RetractAnswer {
    /// `withdrawn` (never sent), `sent` (the notice went out) or `awaiting_approval`.
    pub outcome: String,
    /// The notice's deliveries, when sent.
    pub deliveries: usize,
    /// Why it waits, when it does.
    pub detail: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/items/{id}/retract", tag = "distribution",
    params(("id" = String, Path, description = "The item's id")),
    request_body(content = RetractBody, description = "Optional: why"),
    responses((status = 200, body = RetractAnswer),
              (status = 409, description = "Already retracted", body = Problem, content_type = "application/problem+json")))]
async fn retract_item(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: OptionalJson,
) -> Result<Json<RetractAnswer>, ApiError> {
    let reason = match body.0 {
        None => None,
        Some(value) => {
            serde_path_to_error::deserialize::<_, RetractBody>(value)
                .map_err(|e| {
                    ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string())
                })?
                .reason
        }
    };
    let outcome = blocking(&app, move |app| {
        app.retract_item(&p, &id, reason.as_deref())
    })
    .await?;
    Ok(Json(match outcome {
        schakel_app::Retraction::Withdrawn => RetractAnswer {
            outcome: "withdrawn".into(),
            deliveries: 0,
            detail: None,
        },
        schakel_app::Retraction::Sent(report) => RetractAnswer {
            outcome: "sent".into(),
            deliveries: report.deliveries.len(),
            detail: None,
        },
        schakel_app::Retraction::AwaitingApproval(why) => RetractAnswer {
            outcome: "awaiting_approval".into(),
            deliveries: 0,
            detail: Some(why),
        },
    }))
}

#[utoipa::path(get, path = "/api/v1/reviews", tag = "audit",
    params(("since" = Option<String>, Query, description = "Only items created on or after this day (YYYY-MM-DD)")),
    responses((status = 200, description = "Items not retracted whose plan today denies someone, with reasons and remedies", body = Vec<ReviewRecord>),
              (status = 403, description = "Not a legal officer", body = Problem, content_type = "application/problem+json")))]
async fn reviews(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Vec<ReviewRecord>>, ApiError> {
    let params = query_params(raw, &["since"])?;
    let since = params
        .get("since")
        .map(|v| schakel_domain::parse_date(v).map_err(|e| ApiError::bad_field("since", e.0)))
        .transpose()?;
    let entries = blocking(&app, move |app| app.reviews(&p, since)).await?;
    Ok(Json(entries.iter().map(|e| e.record()).collect()))
}

#[utoipa::path(get, path = "/api/v1/inbox/{id}/members", tag = "inbox",
    params(("id" = String, Path, description = "The delivery's id"),
           ("format" = Option<String>, Query, description = "`json` (default) or `csv`")),
    responses((status = 200, description = "One row per member the linking organisation received the delivery for, JSON or CSV",
               content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = 404, description = "Not in your inbox", body = Problem, content_type = "application/problem+json")))]
async fn members(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = query_params(raw, &["format"])?;
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
    let rows = blocking(&app, move |app| app.inbox_members(&p, &id)).await?;
    Ok(if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            schakel_app::member_rows_csv(&rows),
        )
            .into_response()
    } else {
        Json(rows).into_response()
    })
}
