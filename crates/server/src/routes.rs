//! The routes, their handlers and the OpenAPI document built from them.

#![allow(
    unused_qualifications,
    reason = "utoipa's path macro expands to qualified paths"
)]

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use schakel_app::{App, AppError};
use schakel_domain::{Date, Status, parse_date};
use schakel_formats::answers::{HistoryRecord, OwnerRecord};
use schakel_formats::decision::{DecisionRecord, DecisionRequestRecord};
use schakel_formats::registry::OrganisationRecord;
use schakel_store::OrganisationQuery;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::wire::{Health, Me, OrganisationList, RuleView, RulebookView};
use crate::{ApiError, Problem};

/// Runs a (synchronous) use case on the blocking pool.
pub(crate) async fn blocking<T, F>(app: &App, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&App) -> Result<T, AppError> + Send + 'static,
{
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| ApiError::Internal(format!("a blocking task failed: {e}")))?
        .map_err(ApiError::from)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "schakel",
        description = "The information-sharing and incident-coordination API of a national cybersecurity centre. \
Every route but /healthz needs `Authorization: Bearer <token>`; every error is application/problem+json.",
        license(name = "EUPL-1.2")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "registry", description = "The constituency registry"),
        (name = "rulebook", description = "Sharing decisions and the rulebooks behind them"),
        (name = "distribution", description = "Items, their plans, four-eyes approval, sending and the outbox"),
        (name = "reports", description = "Incident reports, their reporting clocks and triage; written advice; published statistics"),
        (name = "feeds", description = "Bulk feeds: scan and abuse reports resolved to their owners and planned through the rulebook"),
        (name = "audit", description = "The audit trail and disclosure (Woo) exports, for legal officers and supervisors"),
        (name = "inbox", description = "A recipient organisation's inbox: what was delivered to it, acknowledgements, forwarding confirmations"),
        (name = "meta", description = "Health, identity and this document")
    ),
    paths(openapi_document),
    components(schemas(Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a token made with `schakel token create`"))
                    .build(),
            ),
        );
    }
}

pub(crate) fn router(app: App, limits: crate::Limits) -> Router {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(me))
        .routes(routes!(list_organisations, create_organisation))
        .routes(routes!(
            get_organisation,
            put_organisation,
            end_organisation
        ))
        .routes(routes!(organisation_history))
        .routes(routes!(owner))
        .routes(routes!(decide))
        .routes(routes!(rulebooks))
        .merge(crate::items::routes())
        .merge(crate::reports::routes())
        .merge(crate::feeds::routes(limits))
        .split_for_parts();
    // /healthz is the one route without authentication.
    if let Some(item) = openapi.paths.paths.get_mut("/healthz")
        && let Some(op) = item.get.as_mut()
    {
        op.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::default(),
        ]);
    }
    describe_responses(&mut openapi);
    // The document is written once, here; every request for it shares these bytes.
    let document = Bytes::from(serde_json::to_vec(&openapi).unwrap_or_default());
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move |caller: Caller| openapi_document(caller, document.clone())),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Every response of the document has a description (OpenAPI requires one): where a
/// handler gives none, what its status means here.
fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let utoipa::openapi::RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = match status.as_str() {
                        "200" => "Success",
                        "201" => "Created",
                        "204" => "Done; no content",
                        "400" => "The request is malformed (a parameter or the body); the problem names the field",
                        "401" => "No valid token (send `Authorization: Bearer <token>`)",
                        "403" => "The token's role may not do this",
                        "404" => "Not found, or not this token's to see",
                        "409" => "Conflicts with the current state",
                        "413" => "The body is larger than the server accepts",
                        "415" => "The body is not `application/json`",
                        "422" => "The input is not valid; the problem names every field at fault",
                        _ => "See the problem document",
                    }
                    .to_owned();
                }
            }
        }
    }
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A JSON body, read as a JSON value; the use case parses it into a record.
pub(crate) struct JsonBody(pub(crate) serde_json::Value);

/// A request's body (at most [`crate::JSON_BODY_LIMIT`] bytes), and whether it says it is
/// `application/json`.
pub(crate) async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(bool, Bytes), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "a JSON body holds at most {} bytes",
                crate::JSON_BODY_LIMIT
            ))
        } else {
            ApiError::bad_field("body", e.body_text())
        }
    })?;
    Ok((is_json, bytes))
}

/// A body's JSON: a key twice in one object is refused, never "the last one wins".
pub(crate) fn json_of(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    schakel_formats::json::from_slice(bytes).map_err(|e| {
        let field = if e.path.is_empty() { "body" } else { &e.path };
        ApiError::bad_field(field, format!("not valid JSON: {}", e.reason))
    })
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (is_json, bytes) = body_bytes(req, state).await?;
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        json_of(&bytes).map(JsonBody)
    }
}

/// Reads query parameters, rejecting any not in `allowed` (a typo must not be ignored).
pub(crate) fn query_params(
    raw: HashMap<String, String>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    if let Some(unknown) = raw.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_field(
            unknown,
            format!("unknown query parameter; known: {}", allowed.join(", ")),
        ));
    }
    Ok(raw)
}

fn date_param(params: &HashMap<String, String>, name: &str) -> Result<Option<Date>, ApiError> {
    params
        .get(name)
        .map(|v| parse_date(v).map_err(|e| ApiError::bad_field(name, e.0)))
        .transpose()
}

/// A `true`/`false` query parameter (absent: false).
pub(crate) fn bool_param(params: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_field(
            name,
            format!("`{other}` is not `true` or `false`"),
        )),
    }
}

pub(crate) fn number_param(
    params: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_field(
                name,
                format!("`{v}` is not a whole number from 1 to {max}"),
            )),
        },
    }
}

/// Health of the service (no token needed).
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The service and its store answer", body = Health),
              (status = 500, description = "The store does not answer", body = Problem, content_type = "application/problem+json")))]
async fn healthz(State(app): State<App>) -> Result<Json<Health>, ApiError> {
    blocking(&app, |app| app.health()).await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "meta",
    responses((status = 200, body = Me),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn me(Caller(p): Caller) -> Json<Me> {
    Json(Me {
        token_id: p.token_id,
        name: p.name,
        role: p.role.to_string(),
        organisation: p.organisation.map(|o| o.to_string()),
    })
}

/// Query parameters of the organisation listing.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "documents the parameters; they are read by `query_params`"
)]
struct ListParams {
    /// Only organisations with this sector.
    sector: Option<String>,
    /// Only organisations holding this status on `at`.
    status: Option<String>,
    /// Date for designations and `ended` (YYYY-MM-DD; default today in Europe/Amsterdam).
    at: Option<String>,
    /// Also list ended organisations (`true`/`false`, default `false`).
    include_ended: Option<bool>,
    /// Page, from 1 (default 1).
    page: Option<u64>,
    /// Page size, 1 to 1000 (default 50).
    per_page: Option<u64>,
}

/// List organisations (staff; a recipient token sees only its own organisation).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "registry", params(ListParams),
    responses((status = 200, body = OrganisationList),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_organisations(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<OrganisationList>, ApiError> {
    let params = query_params(
        raw,
        &[
            "sector",
            "status",
            "at",
            "include_ended",
            "page",
            "per_page",
        ],
    )?;
    let sector = params
        .get("sector")
        .map(|s| {
            app.vocabulary()
                .parse(s)
                .map(|s| s.to_string())
                .map_err(|e| ApiError::bad_field("sector", e.0))
        })
        .transpose()?;
    let status = params
        .get("status")
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| ApiError::bad_field("status", e.0))
        })
        .transpose()?;
    let include_ended = bool_param(&params, "include_ended")?;
    let paging = crate::wire::Paging::from_params(&params)?;
    let on = date_param(&params, "at")?.unwrap_or_else(|| app.clock().today());
    let query = OrganisationQuery {
        sector,
        status,
        only: None,
        on,
        include_ended,
        offset: paging.offset(),
        limit: paging.per_page,
    };
    let result = blocking(&app, move |app| app.list_organisations(&p, query)).await?;
    Ok(Json(OrganisationList {
        items: result
            .organisations
            .iter()
            .map(OrganisationRecord::from_organisation)
            .collect(),
        page: paging.page,
        per_page: paging.per_page,
        total: result.total,
    }))
}

/// One organisation, as its registry record.
#[utoipa::path(get, path = "/api/v1/organisations/{slug}", tag = "registry",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses((status = 200, body = OrganisationRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_organisation(
    State(app): State<App>,
    Caller(p): Caller,
    Path(slug): Path<String>,
) -> Result<Json<OrganisationRecord>, ApiError> {
    let org = blocking(&app, move |app| app.organisation(&p, &slug)).await?;
    Ok(Json(OrganisationRecord::from_organisation(&org)))
}

/// Register an organisation (admin).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "registry",
    request_body = OrganisationRecord,
    responses((status = 201, body = OrganisationRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The slug exists", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_organisation(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let org = blocking(&app, move |app| app.create_organisation(&p, body)).await?;
    let location = format!("/api/v1/organisations/{}", org.slug());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(OrganisationRecord::from_organisation(&org)),
    )
        .into_response())
}

/// Create or replace an organisation's record (admin). The slug never changes.
#[utoipa::path(put, path = "/api/v1/organisations/{slug}", tag = "registry",
    params(("slug" = String, Path, description = "The organisation's slug")),
    request_body = OrganisationRecord,
    responses((status = 200, description = "Replaced", body = OrganisationRecord),
              (status = 201, description = "Created", body = OrganisationRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn put_organisation(
    State(app): State<App>,
    Caller(p): Caller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (org, created) = blocking(&app, move |app| app.put_organisation(&p, &slug, body)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(OrganisationRecord::from_organisation(&org))).into_response())
}

/// End an organisation (admin). Nothing is deleted: it stays in the registry and its
/// history, holds nothing from the date on, and its slug is never reused.
#[utoipa::path(delete, path = "/api/v1/organisations/{slug}", tag = "registry",
    params(("slug" = String, Path, description = "The organisation's slug"),
           ("on" = Option<String>, Query, description = "First day ended (YYYY-MM-DD; default today)")),
    responses((status = 200, body = OrganisationRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already ended", body = Problem, content_type = "application/problem+json")))]
async fn end_organisation(
    State(app): State<App>,
    Caller(p): Caller,
    Path(slug): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<OrganisationRecord>, ApiError> {
    let params = query_params(raw, &["on"])?;
    let on = date_param(&params, "on")?;
    let org = blocking(&app, move |app| app.end_organisation(&p, &slug, on)).await?;
    Ok(Json(OrganisationRecord::from_organisation(&org)))
}

/// What changed in an organisation's record, when, and by whom (staff).
#[utoipa::path(get, path = "/api/v1/organisations/{slug}/history", tag = "registry",
    params(("slug" = String, Path, description = "The organisation's slug")),
    responses((status = 200, body = Vec<HistoryRecord>),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn organisation_history(
    State(app): State<App>,
    Caller(p): Caller,
    Path(slug): Path<String>,
) -> Result<Json<Vec<HistoryRecord>>, ApiError> {
    let history = blocking(&app, move |app| app.history(&p, &slug)).await?;
    Ok(Json(history.iter().map(|h| h.to_record()).collect()))
}

/// Which organisation owns an address (staff): the longest registered prefix of an
/// organisation not ended on the date.
#[utoipa::path(get, path = "/api/v1/owner/{ip}", tag = "registry",
    params(("ip" = String, Path, description = "An IPv4 or IPv6 address"),
           ("at" = Option<String>, Query, description = "Date (YYYY-MM-DD; default today)")),
    responses((status = 200, body = OwnerRecord),
              (status = 404, description = "Nobody owns it", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Not an address", body = Problem, content_type = "application/problem+json")))]
async fn owner(
    State(app): State<App>,
    Caller(p): Caller,
    Path(ip): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<OwnerRecord>, ApiError> {
    let params = query_params(raw, &["at"])?;
    let on = date_param(&params, "at")?;
    let answer = blocking(&app, move |app| app.owner(&p, &ip, on)).await?;
    Ok(Json(answer.to_record()))
}

/// Decide whether the centre may provide an item to a recipient on a date: permit or deny,
/// with rulebook, route, legal bases, conditions, reasons and remedies (staff). A malformed
/// request or an unknown organisation is a 422 naming the field, never a deny.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "rulebook",
    request_body = DecisionRequestRecord,
    responses((status = 200, description = "The decision (a deny is a successful answer)", body = DecisionRecord),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn decide(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<DecisionRecord>, ApiError> {
    let decision = blocking(&app, move |app| app.decide_json(&p, body)).await?;
    Ok(Json(DecisionRecord::from_decision(&decision)))
}

/// The rulebooks, their dates and hashes, and every rule with citation and explanations (staff).
#[utoipa::path(get, path = "/api/v1/rulebooks", tag = "rulebook",
    responses((status = 200, body = Vec<RulebookView>),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn rulebooks(
    State(app): State<App>,
    Caller(p): Caller,
) -> Result<Json<Vec<RulebookView>>, ApiError> {
    Ok(Json(
        app.rulebooks_for(&p)?
            .rulebooks()
            .iter()
            .map(|b| RulebookView {
                id: b.id().to_owned(),
                from: b.from().to_string(),
                until: b.until().map(|d| d.to_string()),
                hash: b.hash().to_owned(),
                rules: b
                    .rules()
                    .iter()
                    .map(|r| RuleView {
                        id: r.policy_id.to_string(),
                        rule: r.rule.to_string(),
                        kind: r.kind.as_str().to_owned(),
                        citation: r.citation.as_deref().map(str::to_owned),
                        citation_uncertain: r.citation_uncertain,
                        explanation: r.explanation.to_string(),
                        explanation_nl: r.explanation_nl.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn openapi_document(Caller(_): Caller, document: Bytes) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        document,
    )
}
