//! Every error answer is `application/problem+json` (RFC 9457), naming the field at fault.
//! Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schakel_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, such as `urn:schakel:problem:invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
    /// Every field at fault, when the input was wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One field at fault.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// Entry index, for lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The organisation's slug, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Field path, such as `designations[0].status`, or a query parameter name.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// A use case failed.
    App(AppError),
    /// The request itself is malformed (not JSON, a bad parameter).
    BadRequest {
        /// What is wrong.
        detail: String,
        /// The fields at fault.
        errors: Vec<ProblemField>,
    },
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// No such route.
    NoRoute(String),
    /// The route exists, the method does not.
    MethodNotAllowed,
    /// A failure inside the server; logged, not shown.
    Internal(String),
    /// The request carried no `Authorization` header.
    MissingToken,
    /// The body is larger than the server accepts; what the limit is.
    TooLarge(String),
}

impl ApiError {
    /// A bad request about one field or parameter.
    pub fn bad_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        ApiError::BadRequest {
            detail: format!("`{field}`: {reason}"),
            errors: vec![ProblemField {
                index: None,
                slug: None,
                field: field.to_owned(),
                reason,
            }],
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: String,
    errors: Vec<ProblemField>,
) -> Problem {
    Problem {
        kind: format!("urn:schakel:problem:{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        errors,
    }
}

impl ApiError {
    fn to_problem(&self) -> Problem {
        match self {
            ApiError::App(AppError::Invalid { message, problems }) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "The input is not valid",
                message.clone(),
                problems
                    .iter()
                    .map(|p| ProblemField {
                        index: p.index,
                        slug: p.slug.clone(),
                        field: p.field.clone(),
                        reason: p.reason.clone(),
                    })
                    .collect(),
            ),
            ApiError::App(AppError::NotFound(m)) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                m.clone(),
                vec![],
            ),
            ApiError::App(AppError::Conflict(m)) => problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict with the current state",
                m.clone(),
                vec![],
            ),
            ApiError::App(AppError::Unauthenticated(m)) => problem(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                m.clone(),
                vec![],
            ),
            ApiError::App(AppError::Forbidden(m)) => problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                m.clone(),
                vec![],
            ),
            ApiError::App(AppError::Store(_) | AppError::Internal(_)) | ApiError::Internal(_) => {
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the server could not complete the request; the cause is in its log".into(),
                    vec![],
                )
            }
            ApiError::BadRequest { detail, errors } => problem(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request is malformed",
                detail.clone(),
                errors.clone(),
            ),
            ApiError::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as `application/json`".into(),
                vec![ProblemField {
                    index: None,
                    slug: None,
                    field: "Content-Type".into(),
                    reason: "must be `application/json`".into(),
                }],
            ),
            ApiError::NoRoute(path) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("no route `{path}`; the API is described at /api/v1/openapi.json"),
                vec![],
            ),
            ApiError::MissingToken => problem(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "send `Authorization: Bearer <token>`; make a token with `schakel token create`"
                    .into(),
                vec![],
            ),
            ApiError::TooLarge(detail) => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "The request body is too large",
                detail.clone(),
                vec![ProblemField {
                    index: None,
                    slug: None,
                    field: "body".into(),
                    reason: detail.clone(),
                }],
            ),
            ApiError::MethodNotAllowed => problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not accept that method".into(),
                vec![],
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::App(AppError::Store(e)) => tracing::error!(error = %e, "store failure"),
            ApiError::App(AppError::Internal(e)) => tracing::error!(error = %e, "internal failure"),
            ApiError::Internal(e) => tracing::error!(error = %e, "internal failure"),
            _ => {}
        }
        let problem = self.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::App(AppError::Unauthenticated(_)) | ApiError::MissingToken = &self {
            // RFC 6750: no error code when the request carried no token at all.
            let challenge = if matches!(self, ApiError::MissingToken) {
                r#"Bearer realm="schakel""#
            } else {
                r#"Bearer realm="schakel", error="invalid_token""#
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
