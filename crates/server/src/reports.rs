//! Incident-report routes: filing and reading reports (staff, or the reporting
//! organisation for its own), reporting clocks, submissions, triage, items from reports,
//! written advice, the Woo export (legal) and the published statistics (staff).

#![allow(
    unused_qualifications,
    reason = "utoipa's path macro expands to qualified paths"
)]

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schakel_app::{App, ItemFromReport, StatsOptions, clock_record};
use schakel_domain::{OrgSlug, ReportStatus, Tlp, parse_date};
use schakel_formats::item::{ItemAnswer, PlanRecord};
use schakel_formats::report::{
    AdviceRecord, AdviceRequest, ClockRecord, ReportAnswer, ReportRecord, ReportSummaryRecord,
    StatsRecord, SubmissionRequest, TriageRequest,
};
use schakel_formats::stats::{stats_csv, stats_svg};
use schakel_store::ReportQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::items::OptionalJson;
use crate::routes::{JsonBody, blocking, bool_param, number_param, query_params};
use crate::wire::{Page, Paging};
use crate::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, file_report))
        .routes(routes!(get_report))
        .routes(routes!(report_clocks))
        .routes(routes!(submit_step))
        .routes(routes!(triage))
        .routes(routes!(item_from_report))
        .routes(routes!(list_advice, give_advice))
        .routes(routes!(confirm_advice))
        .routes(routes!(escalate_advice))
        .routes(routes!(statistics))
        .routes(routes!(woo_export))
}

/// Options for an item made from a report.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemFromReportBody {
    /// Its TLP (default AMBER).
    pub tlp: Option<String>,
    /// Its title (default: the report's, sanitised).
    pub title: Option<String>,
}

/// The organisation's confirmation that it took the measures.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmationBody {
    /// What it says it did.
    pub confirmation: String,
}

/// An escalation: the advice, the draft escalation item and its plan.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EscalationRecord {
    /// The advice, now escalated.
    pub advice: AdviceRecord,
    /// The draft item (kind and purpose `escalation`).
    pub item: ItemAnswer,
    /// Its plan: the overseeing ministries, decided by the rulebook (W7).
    pub plan: PlanRecord,
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::bad_field(&e.path().to_string(), e.into_inner().to_string()))
}

#[utoipa::path(get, path = "/api/v1/reports", tag = "reports",
    params(("status" = Option<String>, Query, description = "new, triaged, coordinating or closed"),
           ("reporter" = Option<String>, Query, description = "an organisation's slug"),
           ("overdue" = Option<bool>, Query, description = "only reports with a reporting step past its deadline and not submitted"),
           ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query)),
    responses((status = 200, body = Page<ReportSummaryRecord>),
              (status = 400, body = Problem, content_type = "application/problem+json")))]
async fn list_reports(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Page<ReportSummaryRecord>>, ApiError> {
    let params = query_params(raw, &["status", "reporter", "overdue", "page", "per_page"])?;
    let paging = Paging::from_params(&params)?;
    let overdue = bool_param(&params, "overdue")?;
    let query = ReportQuery {
        status: params
            .get("status")
            .map(|s| {
                s.parse::<ReportStatus>()
                    .map_err(|e| ApiError::bad_field("status", e.0))
            })
            .transpose()?,
        reporter: params
            .get("reporter")
            .map(|s| OrgSlug::parse(s).map_err(|e| ApiError::bad_field("reporter", e.0)))
            .transpose()?,
        offset: paging.offset(),
        limit: paging.per_page,
        ..ReportQuery::default()
    };
    let staff = p.role.is_staff();
    let (found, now) = blocking(&app, move |app| {
        Ok((app.reports(&p, &query, overdue)?, app.clock().now()))
    })
    .await?;
    Ok(Json(
        paging.of(
            found
                .reports
                .iter()
                .map(|r| r.summary(staff, now))
                .collect(),
            found.total,
        ),
    ))
}

#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportRecord,
    responses((status = 201, description = "Filed, with every reporting clock it started", body = ReportAnswer),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn file_report(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let staff = p.role.is_staff();
    let (view, now) = blocking(&app, move |app| {
        Ok((app.file_report(&p, body)?, app.clock().now()))
    })
    .await?;
    let location = format!("/api/v1/reports/{}", view.row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view.answer(staff, now)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The report's id")),
    responses((status = 200, description = "The report; staff also see the triage and history", body = ReportAnswer),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_report(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<ReportAnswer>, ApiError> {
    let staff = p.role.is_staff();
    let (view, now) = blocking(&app, move |app| {
        Ok((app.report(&p, &id)?, app.clock().now()))
    })
    .await?;
    Ok(Json(view.answer(staff, now)))
}

#[utoipa::path(get, path = "/api/v1/reports/{id}/clocks", tag = "reports",
    params(("id" = String, Path, description = "The report's id")),
    responses((status = 200, body = Vec<ClockRecord>),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn report_clocks(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ClockRecord>>, ApiError> {
    let (view, now) = blocking(&app, move |app| {
        Ok((app.report(&p, &id)?, app.clock().now()))
    })
    .await?;
    Ok(Json(
        view.clocks
            .clocks
            .iter()
            .map(|c| clock_record(c, now))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/submissions", tag = "reports",
    params(("id" = String, Path, description = "The report's id")),
    request_body = SubmissionRequest,
    responses((status = 200, body = ReportAnswer),
              (status = 409, description = "Already recorded", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn submit_step(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ReportAnswer>, ApiError> {
    let request: SubmissionRequest = typed(body)?;
    let at = request
        .at
        .as_deref()
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map_err(|_| ApiError::bad_field("at", format!("`{t}` is not an RFC 3339 instant")))
        })
        .transpose()?;
    let staff = p.role.is_staff();
    let (view, now) = blocking(&app, move |app| {
        Ok((
            app.submit_step(&p, &id, &request.regime, &request.step, at)?,
            app.clock().now(),
        ))
    })
    .await?;
    Ok(Json(view.answer(staff, now)))
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/triage", tag = "reports",
    params(("id" = String, Path, description = "The report's id")),
    request_body = TriageRequest,
    responses((status = 200, body = ReportAnswer),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn triage(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ReportAnswer>, ApiError> {
    let request: TriageRequest = typed(body)?;
    let (view, now) = blocking(&app, move |app| {
        Ok((app.triage(&p, &id, &request)?, app.clock().now()))
    })
    .await?;
    Ok(Json(view.answer(true, now)))
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/item", tag = "reports",
    params(("id" = String, Path, description = "The report's id")),
    request_body(content = ItemFromReportBody, description = "Optional: TLP and title"),
    responses((status = 201, description = "A draft item, the reporter's identity removed unless it consented", body = ItemAnswer),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn item_from_report(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: OptionalJson,
) -> Result<Response, ApiError> {
    let body: ItemFromReportBody = match body.0 {
        None => ItemFromReportBody::default(),
        Some(v) => typed(v)?,
    };
    let options = ItemFromReport {
        tlp: body
            .tlp
            .map(|t| {
                t.parse::<Tlp>()
                    .map_err(|e| ApiError::bad_field("tlp", e.0))
            })
            .transpose()?,
        title: body.title,
    };
    let view = blocking(&app, move |app| app.item_from_report(&p, &id, &options)).await?;
    let location = format!("/api/v1/items/{}", view.row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view.answer()),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/advice", tag = "reports",
    params(("flagged" = Option<bool>, Query, description = "only advice whose follow-up date passed without confirmation")),
    responses((status = 200, body = Vec<AdviceRecord>)))]
async fn list_advice(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Vec<AdviceRecord>>, ApiError> {
    let params = query_params(raw, &["flagged"])?;
    let flagged = bool_param(&params, "flagged")?;
    let list = blocking(&app, move |app| app.advice_list(&p, flagged)).await?;
    Ok(Json(list.iter().map(schakel_app::Advice::record).collect()))
}

#[utoipa::path(post, path = "/api/v1/advice", tag = "reports", request_body = AdviceRequest,
    responses((status = 201, body = AdviceRecord),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn give_advice(
    State(app): State<App>,
    Caller(p): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: AdviceRequest = typed(body)?;
    let advice = blocking(&app, move |app| app.give_advice(&p, &request)).await?;
    Ok((StatusCode::CREATED, Json(advice.record())).into_response())
}

#[utoipa::path(post, path = "/api/v1/advice/{id}/confirm", tag = "reports",
    params(("id" = String, Path, description = "The advice's id")),
    request_body = ConfirmationBody,
    responses((status = 200, body = AdviceRecord),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn confirm_advice(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<AdviceRecord>, ApiError> {
    let body: ConfirmationBody = typed(body)?;
    let advice = blocking(&app, move |app| {
        app.confirm_advice(&p, &id, &body.confirmation)
    })
    .await?;
    Ok(Json(advice.record()))
}

#[utoipa::path(post, path = "/api/v1/advice/{id}/escalate", tag = "reports",
    params(("id" = String, Path, description = "The advice's id")),
    responses((status = 201, body = EscalationRecord),
              (status = 409, description = "Not due for escalation", body = Problem, content_type = "application/problem+json")))]
async fn escalate_advice(
    State(app): State<App>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (advice, item, plan) = blocking(&app, move |app| {
        let (advice, item) = app.escalate_advice(&p, &id)?;
        let plan = app.plan(&p, &item.row.id)?;
        Ok((advice, item, plan))
    })
    .await?;
    let record = EscalationRecord {
        advice: advice.record(),
        item: item.answer(),
        plan: plan.record(),
    };
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

#[utoipa::path(get, path = "/api/v1/stats", tag = "reports",
    params(("period" = String, Query, description = "a quarter, such as 2026-Q3"),
           ("format" = Option<String>, Query, description = "json (default), csv or svg"),
           ("threshold" = Option<u64>, Query, description = "fewest reports a published number holds (default 5)"),
           ("min_organisations" = Option<u64>, Query, description = "fewest organisations behind a published number (default 3)")),
    responses((status = 200, description = "The statistics of the quarter, small numbers suppressed: JSON (FORMATS.md \"Statistics\"), a CSV matrix (a suppressed number is an empty field) or an SVG chart",
               content((StatsRecord = "application/json"), (String = "text/csv"), (String = "image/svg+xml"))),
              (status = 400, body = Problem, content_type = "application/problem+json")))]
async fn statistics(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = query_params(raw, &["period", "format", "threshold", "min_organisations"])?;
    let period = params
        .get("period")
        .cloned()
        .ok_or_else(|| ApiError::bad_field("period", "give a quarter, such as 2026-Q3"))?;
    let default = StatsOptions::default();
    let options = StatsOptions {
        threshold: number_param(&params, "threshold", default.threshold, 1_000_000)?,
        min_organisations: number_param(
            &params,
            "min_organisations",
            default.min_organisations,
            1_000_000,
        )?,
    };
    let format = params
        .get("format")
        .cloned()
        .unwrap_or_else(|| "json".into());
    if !["json", "csv", "svg"].contains(&format.as_str()) {
        return Err(ApiError::bad_field(
            "format",
            format!("`{format}` is not json, csv or svg"),
        ));
    }
    let stats = blocking(&app, move |app| app.statistics(&p, &period, options)).await?;
    Ok(match format.as_str() {
        "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            stats_csv(&stats),
        )
            .into_response(),
        "svg" => ([(header::CONTENT_TYPE, "image/svg+xml")], stats_svg(&stats)).into_response(),
        _ => Json(stats).into_response(),
    })
}

#[utoipa::path(get, path = "/api/v1/woo", tag = "audit",
    params(("from" = String, Query, description = "first awareness date, YYYY-MM-DD"),
           ("to" = String, Query, description = "last awareness date (inclusive)"),
           ("format" = Option<String>, Query, description = "markdown (default) or json")),
    responses((status = 200, description = "The reports of the period, redacted, with the index of redactions and their grounds: Markdown, or JSON",
               content((String = "text/markdown"), (serde_json::Value = "application/json"))),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn woo_export(
    State(app): State<App>,
    Caller(p): Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = query_params(raw, &["from", "to", "format"])?;
    let date = |name: &str| -> Result<schakel_domain::Date, ApiError> {
        let text = params
            .get(name)
            .ok_or_else(|| ApiError::bad_field(name, "give a date, YYYY-MM-DD"))?;
        parse_date(text).map_err(|e| ApiError::bad_field(name, e.0))
    };
    let (from, to) = (date("from")?, date("to")?);
    let format = params
        .get("format")
        .cloned()
        .unwrap_or_else(|| "markdown".into());
    if !["markdown", "json"].contains(&format.as_str()) {
        return Err(ApiError::bad_field(
            "format",
            format!("`{format}` is not markdown or json"),
        ));
    }
    let export = blocking(&app, move |app| app.woo_export(&p, from, to)).await?;
    Ok(if format == "json" {
        Json(export).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            export.markdown(),
        )
            .into_response()
    })
}
