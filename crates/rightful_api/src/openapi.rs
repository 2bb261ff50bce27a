//! The OpenAPI 3.1 document, generated from the handlers' annotations (`#[utoipa::path]`) and the
//! request and response types, served at `/openapi.json`, with Swagger UI at `/docs/` (its files
//! are vendored into the binary: nothing is downloaded at build or run time).

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `{"id": …, "status": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// The request id.
    pub id: String,
    /// Its status after the call.
    pub status: String,
}

/// A staff token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// `dpo` or `auditor`.
    pub role: String,
}

/// The audit trail's verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyBody {
    /// Whether the chain is intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// Every break found: altered, deleted, inserted, reordered or truncated entries, a trail
    /// rewritten or cut back behind its signed head, an anchor not signed by Rightful's key.
    #[schema(value_type = Vec<Object>)]
    pub problems: Vec<serde_json::Value>,
    /// The position of the signed head the trail was checked against (null: none yet).
    pub anchored_seq: Option<i64>,
    /// When that head was signed.
    pub anchored_at: Option<String>,
}

/// A signed head of the audit trail (`GET /v1/audit/anchors`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnchorBody {
    /// `rightful.audit_anchor`.
    pub typ: String,
    /// The anchored entry.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed (RFC 3339, UTC).
    pub at: String,
    /// A compact JWS (EdDSA) over `{typ, seq, hash, at}`; verify it with `/.well-known/jwks.json`.
    pub jws: String,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Staff token from POST /v1/auth/token; the role (dpo, auditor) each route needs is in its description",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "request_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Request <token>`: the per-request token returned once at intake",
            ))),
        );
        components.add_security_scheme(
            "drp_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "DRP pair-wise token from POST /v1/agent/{agent_id}, for a registered authorised agent",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rightful",
        description = "GDPR data-subject rights: requests in, identity, the DPO's queue, the register and the audit trail. Every error is `{\"error\": code, \"message\": …}` (docs/ERRORS.md).",
        license(name = "AGPL-3.0-only")
    ),
    paths(
        crate::handlers::health::get_health,
        crate::handlers::jwks::get_jwks,
        crate::handlers::register::get::get_register,
        crate::handlers::auth::token::post_token,
        crate::handlers::audit::get::get_audit,
        crate::handlers::audit::verify::get_verify,
        crate::handlers::audit::anchors::get_anchors,
        crate::handlers::requests::submit::submit_request,
        crate::handlers::requests::status::get_status,
        crate::handlers::requests::verify::post_verify,
        crate::handlers::requests::documents::put_document,
        crate::handlers::requests::directives::get_directives,
        crate::handlers::requests::result::get_result,
        crate::handlers::requests::list::list_requests,
        crate::handlers::requests::get::get_request,
        crate::handlers::requests::decide::post_decision,
        crate::handlers::requests::documents::get_document,
        crate::handlers::requests::documents::post_check,
        crate::handlers::suppressions::post_check,
        crate::handlers::holds::list_holds,
        crate::handlers::holds::post_hold,
        crate::handlers::holds::delete_hold,
        crate::handlers::drp::post_agent,
        crate::handlers::drp::get_agent,
        crate::handlers::drp::post_request,
        crate::handlers::drp::get_request,
        crate::handlers::drp::delete_request,
        crate::handlers::drp::get_result,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::handlers::drp::DrpErrorBody,
        StatusBody,
        TokenBody,
        VerifyBody,
        AnchorBody,
        rightful_engine::intake::Submission,
        rightful_engine::intake::Accepted,
        rightful_engine::intake::StatusView,
        rightful_engine::intake::Decision,
        rightful_engine::documents::DocumentView,
        rightful_engine::postmortem::DirectiveVersion,
    )),
    modifiers(&Security),
    tags(
        (name = "public", description = "No authentication: serves no personal data"),
        (name = "subject", description = "Data subjects and their agents: intake, then the per-request token"),
        (name = "dpo", description = "Role `dpo`: the request queue and its decisions"),
        (name = "auditor", description = "Role `auditor` (or `dpo`): the audit trail and its verification"),
        (name = "drp", description = "Registered authorised agents over the Data Rights Protocol 1.0 (docs/DRP.md): pair-wise token from the set-up, signed bodies"),
        (name = "site", description = "Role `site` (or `dpo`): the site's mailing tools check the suppression list"),
    )
)]
pub struct ApiDoc;
