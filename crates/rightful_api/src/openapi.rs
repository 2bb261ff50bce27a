//! The OpenAPI 3.1 document, generated from the handlers' annotations (`#[utoipa::path]`) and the
//! request and response types, served at `/openapi.json`, with Swagger UI at `/docs/` (its files
//! are vendored into the binary: nothing is downloaded at build or run time).
//!
//! The document tells the truth (issue 12 item 12): every operation lists every status it can
//! answer, errors with [`ErrorBody`](crate::error::ErrorBody) (the DRP routes with
//! [`DrpErrorBody`](crate::handlers::drp::DrpErrorBody)), every success body has a schema (the
//! structs below describe what the handlers build with `json!`), closed sets of values are enums
//! taken from the core's own lists, and operation ids are unique. `make api-check` runs
//! schemathesis against a live server to prove it; the tests at the end of this file hold the
//! rules that do not need a server.

use rightful_core::evidence::DocumentKind;
use rightful_core::intake::RequestType;
use rightful_core::lifecycle::Status;
use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// A string schema whose value is one of `values`.
fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Declares a named string enum schema from a list of spellings.
macro_rules! string_enum_schema {
    ($(#[$doc:meta])* $name:ident, $description:expr, $values:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($description, $values)
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

string_enum_schema!(
    /// A request's status: the core lifecycle's own list.
    RequestStatus,
    "A request's status",
    Status::ALL.map(Status::as_str)
);
string_enum_schema!(
    /// A request's type: the core's own list.
    RequestTypeName,
    "A request's type",
    RequestType::ALL.map(RequestType::as_str)
);
string_enum_schema!(
    /// A document a request can carry: the core's own list.
    DocumentKindName,
    "A document a request can carry",
    DocumentKind::ALL.map(DocumentKind::as_str)
);
string_enum_schema!(
    /// A staff role.
    StaffRole,
    "A staff role",
    STAFF_ROLES
);
string_enum_schema!(
    /// The formats of `GET /v1/audit`.
    AuditFormat,
    "json (default) or csv",
    ["json", "csv"]
);
string_enum_schema!(
    /// The formats of `GET /v1/register`.
    RegisterFormat,
    "csv (default, CNIL template order), json or jsonld (DPV)",
    ["csv", "json", "jsonld"]
);
string_enum_schema!(
    /// The `due` filter of the queue.
    DueFilter,
    "soon: due within the answer-early window and not closed; overdue: past due and not closed",
    ["soon", "overdue"]
);
string_enum_schema!(
    /// The outcome of a document check.
    CheckOutcome,
    "accepted or rejected",
    ["accepted", "rejected"]
);
string_enum_schema!(
    /// The status of a DRP request, as the protocol names it.
    DrpStatus,
    "The status of a Data Rights Protocol request",
    ["open", "in_progress", "fulfilled", "revoked", "denied", "expired"]
);

/// A UTC date and time as the engine stores it: RFC 3339 without the offset
/// (`2026-12-01T22:58:01.123456`), which a JSON Schema `date-time` would refuse.
#[derive(Debug, Clone, Copy)]
pub struct UtcTimestamp;

impl PartialSchema for UtcTimestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A UTC date and time without an offset: YYYY-MM-DDTHH:MM:SS[.ffffff]",
            ))
            .pattern(Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"))
            .examples(["2026-12-01T22:58:01.123456"])
            .into()
    }
}

impl ToSchema for UtcTimestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UtcTimestamp")
    }
}

/// The error body of a DRP route that can answer either kind: the protocol's, or the API's when
/// the result file is gone.
#[derive(Debug, Clone, Copy)]
pub struct AnyErrorBody;

impl PartialSchema for AnyErrorBody {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("DrpErrorBody"))
            .item(utoipa::openapi::Ref::from_schema_name("ErrorBody"))
            .into()
    }
}

impl ToSchema for AnyErrorBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AnyErrorBody")
    }
}

/// Every staff role, as `Role::as_str` spells it (a test checks both ways).
pub const STAFF_ROLES: [&str; 3] = ["dpo", "auditor", "site"];

/// `{"id": …, "status": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// The request id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Its status after the call.
    #[schema(value_type = RequestStatus)]
    pub status: String,
}

/// A staff token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The account's role.
    #[schema(value_type = StaffRole)]
    pub role: String,
}

/// One break in the audit trail's chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditProblem {
    /// What broke: `{"kind": "altered"|"deleted"|"inserted"|"reordered"|"truncated"|
    /// "rewritten"|"behind_anchor"|"anchor_refused", …}` with the positions concerned.
    #[schema(value_type = Object)]
    pub problem: serde_json::Value,
    /// The same, in words.
    pub message: String,
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
    pub problems: Vec<AuditProblem>,
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

/// One entry of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Position, from 1.
    pub seq: i64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who: `dpo:<id>`, `system`, …
    pub actor: String,
    /// What, e.g. `request.received`.
    pub action: String,
    /// On what (a request id, a store, …).
    pub target: String,
    /// Why.
    pub reason: String,
    /// Structured details (never personal data).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: String,
    /// `ok`: the engine database answered.
    #[schema(example = "ok")]
    pub database: String,
    /// Purposes in the policy.
    pub purposes: u64,
    /// Rightful's version.
    pub version: String,
}

/// `GET /health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveBody {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// One site store in `GET /health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreHealth {
    /// The store's name (from its map).
    pub name: String,
    /// `ok` or `unreachable`.
    #[schema(example = "ok")]
    pub status: String,
    /// When unreachable: `transient` or `permanent`.
    pub class: Option<String>,
    /// When unreachable: the error's code (`connect`, `pg:28P01`, `mysql:1045`, `schema`,
    /// `timeout`, …), never the driver's text.
    pub code: Option<String>,
}

/// `GET /health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyBody {
    /// `ok` when the engine database and every store answer, else `unavailable`.
    #[schema(example = "ok")]
    pub status: String,
    /// `ok` or `unreachable`: the engine database.
    #[schema(example = "ok")]
    pub database: String,
    /// Every configured site store.
    pub stores: Vec<StoreHealth>,
}

/// One public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Key id.
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

/// A JWK Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// An accepted request (`POST /v1/requests`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedBody {
    /// Request id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The subject's token for this request, shown once.
    pub token: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schema(value_type = RequestTypeName)]
    pub kind: String,
    /// Its status.
    #[schema(value_type = RequestStatus)]
    pub status: String,
    /// Receipt time (A1).
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// Due date (A2).
    pub due_on: chrono::NaiveDate,
    /// The acknowledgement of receipt, a compact JWS signed by Rightful (A12).
    pub acknowledgement: String,
}

/// What the subject sees of their request (`GET /v1/requests/{id}/status`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectStatusBody {
    /// Request id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = RequestTypeName)]
    pub kind: String,
    /// Status.
    #[schema(value_type = RequestStatus)]
    pub status: String,
    /// Receipt (UTC).
    #[schema(value_type = UtcTimestamp)]
    pub received_at: chrono::NaiveDateTime,
    /// Due date in force.
    pub due_on: chrono::NaiveDate,
    /// Whether it was extended.
    pub extended: bool,
    /// `[when (UTC, without an offset), status]` of each step.
    #[schema(value_type = Vec<Vec<String>>)]
    pub history: Vec<(chrono::NaiveDateTime, String)>,
}

/// One request in the DPO's queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    /// Request id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = RequestTypeName)]
    pub kind: String,
    /// Status.
    #[schema(value_type = RequestStatus)]
    pub status: String,
    /// `web`, `agent`, `drp`, …
    pub channel: String,
    /// Receipt (UTC).
    #[schema(value_type = UtcTimestamp)]
    pub received_at: chrono::NaiveDateTime,
    /// Due date in force.
    pub due_on: chrono::NaiveDate,
    /// Whether it was extended.
    pub extended: bool,
    /// Whether its clock is paused (identity pending, or a store unreachable).
    pub paused: bool,
}

/// `GET /v1/requests`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueBody {
    /// Soonest due first.
    pub requests: Vec<QueueItem>,
}

/// The subject of a request, for the DPO.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectBody {
    /// Their address.
    pub email: String,
    /// Their name, when given.
    pub name: Option<String>,
    /// The earlier request this one repeats.
    pub duplicate_of: Option<String>,
    /// What the request states (per type).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One step of carrying a request out.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalStep {
    /// The step.
    pub step: String,
    /// The store.
    pub store: String,
    /// The round.
    pub round: i32,
    /// The job's status.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The last error's class, if any.
    pub last_error: Option<String>,
    /// Last change (UTC).
    #[schema(value_type = UtcTimestamp)]
    pub updated_at: chrono::NaiveDateTime,
}

/// One event of a request's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEvent {
    /// When (UTC).
    #[schema(value_type = UtcTimestamp)]
    pub at: chrono::NaiveDateTime,
    /// Who.
    pub actor: String,
    /// The status before (none for the first).
    #[schema(value_type = Option<RequestStatus>)]
    pub from: Option<String>,
    /// The status after.
    #[schema(value_type = RequestStatus)]
    pub to: String,
    /// Why.
    pub reason: String,
}

/// A document a request carries, as the DPO sees it (never its content).
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentBody {
    /// Its kind.
    #[schema(value_type = DocumentKindName)]
    pub kind: String,
    /// When it was asked for.
    #[schema(value_type = UtcTimestamp)]
    pub requested_at: chrono::NaiveDateTime,
    /// Who asked (`policy` or the DPO).
    pub requested_by: String,
    /// Whether an upload is waiting for the check.
    pub uploaded: bool,
    /// When it was checked.
    #[schema(value_type = Option<UtcTimestamp>)]
    pub checked_at: Option<chrono::NaiveDateTime>,
    /// Who checked it.
    pub checked_by: Option<String>,
    /// The check's outcome.
    #[schema(value_type = Option<CheckOutcome>)]
    pub outcome: Option<String>,
    /// How it was checked.
    pub method: Option<String>,
}

/// One version of a subject's post-mortem directives.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectiveVersionBody {
    /// From 1.
    pub version: i32,
    /// register, update or revoke.
    pub action: String,
    /// The directives.
    #[schema(value_type = Object)]
    pub directives: serde_json::Value,
    /// Who carries them out.
    #[schema(value_type = Object)]
    pub executor: serde_json::Value,
    /// The request that recorded it.
    #[schema(format = Uuid)]
    pub request_id: String,
    /// When.
    #[schema(value_type = UtcTimestamp)]
    pub recorded_at: chrono::NaiveDateTime,
}

/// A legal hold, as the DPO sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldBody {
    /// Its id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The identity kind.
    pub kind: String,
    /// The identity value.
    pub value: String,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub created_by: String,
    /// When.
    #[schema(value_type = UtcTimestamp)]
    pub created_at: chrono::NaiveDateTime,
    /// When it was released, if it was.
    #[schema(value_type = Option<UtcTimestamp>)]
    pub released_at: Option<chrono::NaiveDateTime>,
}

/// `GET /v1/requests/{id}`: one request, for the DPO.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    /// Request id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    #[schema(value_type = RequestTypeName)]
    pub kind: String,
    /// Status.
    #[schema(value_type = RequestStatus)]
    pub status: String,
    /// `web`, `agent`, `drp`, …
    pub channel: String,
    /// Receipt (UTC).
    #[schema(value_type = UtcTimestamp)]
    pub received_at: chrono::NaiveDateTime,
    /// Due date in force.
    pub due_on: chrono::NaiveDate,
    /// Whether it was extended.
    pub extended: bool,
    /// The subject.
    pub subject: Option<SubjectBody>,
    /// The documents (never their content).
    pub documents: Vec<DocumentBody>,
    /// The execution journal.
    pub execution: Vec<JournalStep>,
    /// On a notice of death, the directives in force for the deceased, if any.
    pub directives_in_force: Option<DirectiveVersionBody>,
    /// Every event, oldest first.
    pub history: Vec<HistoryEvent>,
}

/// `GET /v1/requests/{id}/directives`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectivesBody {
    /// Every version, oldest first.
    pub versions: Vec<DirectiveVersionBody>,
}

/// `GET /v1/holds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldsBody {
    /// Every hold, newest first.
    pub holds: Vec<HoldBody>,
}

/// `POST /v1/holds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldCreated {
    /// The hold's id.
    #[schema(format = Uuid)]
    pub id: String,
}

/// `POST /v1/suppressions/check`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressionBody {
    /// Whether the address's owner objected to that marketing purpose.
    pub suppressed: bool,
}

/// A DRP set-up's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrpPaired {
    /// The agent.
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    /// Its pair-wise bearer token, shown once.
    pub token: String,
}

/// `{}`: the token is valid for this agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrpAgentInfo {}

/// A DRP status object (Data Rights Protocol 1.0).
#[derive(Debug, Serialize, ToSchema)]
pub struct DrpStatusBody {
    /// The DRP request id.
    pub request_id: String,
    /// The agent's own id for it, when it gave one.
    pub agent_request_id: Option<String>,
    /// Receipt.
    #[schema(format = DateTime)]
    pub received_at: String,
    /// The protocol's status.
    #[schema(value_type = DrpStatus)]
    pub status: String,
    /// The protocol's reason (`need_user_verification`, `other`, …), or empty.
    pub reason: String,
    /// Details in words.
    pub processing_details: Option<String>,
    /// While open: when it is due.
    pub expected_by: Option<String>,
    /// Once fulfilled: where the result is.
    pub results_url: Option<String>,
    /// Once fulfilled: until when the result can be downloaded.
    pub expires_at: Option<String>,
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
        crate::handlers::health::get_live,
        crate::handlers::health::get_ready,
        crate::handlers::health::get_metrics,
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
        RequestStatus,
        RequestTypeName,
        DocumentKindName,
        StaffRole,
        AuditFormat,
        RegisterFormat,
        DueFilter,
        CheckOutcome,
        DrpStatus,
        AnyErrorBody,
        StatusBody,
        TokenBody,
        AuditProblem,
        VerifyBody,
        AnchorBody,
        AuditEntry,
        HealthBody,
        LiveBody,
        StoreHealth,
        ReadyBody,
        Jwk,
        Jwks,
        AcceptedBody,
        SubjectStatusBody,
        QueueItem,
        QueueBody,
        SubjectBody,
        JournalStep,
        HistoryEvent,
        RequestDetail,
        DirectivesBody,
        HoldsBody,
        HoldCreated,
        SuppressionBody,
        DrpPaired,
        DrpAgentInfo,
        DrpStatusBody,
        rightful_engine::intake::Submission,
        rightful_engine::intake::Decision,
        UtcTimestamp,
        DocumentBody,
        DirectiveVersionBody,
        HoldBody,
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

#[cfg(test)]
mod tests {
    //! Issue 12 item 12: the rules the document keeps without a server (`make api-check` runs
    //! schemathesis against a live one for the rest).

    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    /// `(method, path, operation)` for every operation.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    fn secured_by(op: &Value, scheme: &str) -> bool {
        op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get(scheme).is_some()))
    }

    fn error_ref(response: &Value) -> Option<&str> {
        response["content"]["application/json"]["schema"]["$ref"].as_str()
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document();
        let ops = operations(&doc);
        let ids: BTreeSet<&str> = ops
            .iter()
            .map(|(_, _, op)| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), ops.len(), "duplicate operationId");
    }

    #[test]
    fn staff_operations_document_401_and_403_with_the_error_body() {
        let doc = document();
        let mut staff = 0;
        for (method, path, op) in operations(&doc) {
            if !secured_by(&op, "bearer") {
                continue;
            }
            staff += 1;
            for status in ["401", "403"] {
                assert_eq!(
                    error_ref(&op["responses"][status]),
                    Some("#/components/schemas/ErrorBody"),
                    "{method} {path} does not document {status}"
                );
            }
        }
        assert!(staff >= 11, "only {staff} staff operations");
    }

    #[test]
    fn json_bodies_document_400_413_and_415() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            if op["requestBody"]["content"]["application/json"].is_null() {
                continue;
            }
            for status in ["400", "413", "415"] {
                assert!(
                    error_ref(&op["responses"][status]).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }

    #[test]
    fn rate_limited_operations_document_429_with_retry_after() {
        let doc = document();
        for (method, path) in [
            ("post", "/v1/requests"),
            ("post", "/v1/requests/{id}/verify"),
            ("post", "/v1/auth/token"),
            ("get", "/v1/requests/{id}/status"),
            ("get", "/v1/requests/{id}/result"),
            ("get", "/v1/requests/{id}/directives"),
            ("put", "/v1/requests/{id}/documents/{kind}"),
        ] {
            let r = &doc["paths"][path][method]["responses"]["429"];
            assert_eq!(
                error_ref(r),
                Some("#/components/schemas/ErrorBody"),
                "{method} {path}"
            );
            assert!(
                r["headers"]["Retry-After"].is_object(),
                "{method} {path}: no Retry-After"
            );
        }
    }

    #[test]
    fn every_response_has_a_body_schema_except_204_and_the_drp_set_up_refusal() {
        let doc = document();
        for (method, path, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status == "204"
                    || (method == "post" && path == "/v1/agent/{agent_id}" && status == "403")
                {
                    assert!(response["content"].is_null(), "{method} {path} {status}");
                    continue;
                }
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: no content"));
                assert!(!content.is_empty(), "{method} {path} {status}");
                for (media, c) in content {
                    assert!(
                        c["schema"].is_object(),
                        "{method} {path} {status} {media}: no schema"
                    );
                }
                // Readiness answers 503 with the same body as 200, saying what is down
                // (issue 13 item 7).
                if !status.starts_with('2') && path != "/health/ready" {
                    let r = error_ref(response).unwrap_or_default();
                    assert!(
                        r.ends_with("/ErrorBody")
                            || r.ends_with("/DrpErrorBody")
                            || r.ends_with("/AnyErrorBody"),
                        "{method} {path} {status}: {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        refs.push(r);
                    }
                    m.values().for_each(|v| walk(v, refs));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let doc = document();
        let mut refs = Vec::new();
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} resolves to nothing"
            );
        }
    }

    #[test]
    fn two_bodies_of_the_same_rust_name_keep_their_own_schemas() {
        // Both handlers call their body `Check`: under one name, the document check's operation
        // described the suppression check's body (schemathesis sent it `{"email", "purpose"}`).
        let doc = document();
        let body = |path: &str| {
            let r =
                doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
                    ["$ref"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned();
            let props: BTreeSet<String> = doc["components"]["schemas"][&r]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            props
        };
        assert_eq!(
            body("/v1/requests/{id}/documents/{kind}/check"),
            BTreeSet::from(["method".to_owned(), "outcome".to_owned()])
        );
        assert_eq!(
            body("/v1/suppressions/check"),
            BTreeSet::from(["email".to_owned(), "purpose".to_owned()])
        );
    }

    #[test]
    fn enums_are_the_cores_own_lists() {
        let doc = document();
        let values = |name: &str| -> Vec<String> {
            doc["components"]["schemas"][name]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            values("RequestStatus"),
            Status::ALL.map(|s| s.as_str().to_owned())
        );
        assert_eq!(
            values("RequestTypeName"),
            RequestType::ALL.map(|t| t.as_str().to_owned())
        );
        for role in values("StaffRole") {
            let parsed = rightful_engine::auth::Role::parse(&role).unwrap();
            assert_eq!(parsed.as_str(), role);
        }
        for role in [
            rightful_engine::auth::Role::Dpo,
            rightful_engine::auth::Role::Auditor,
            rightful_engine::auth::Role::Site,
        ] {
            assert!(STAFF_ROLES.contains(&role.as_str()));
        }
        let register: Vec<String> = values("RegisterFormat");
        for f in &register {
            assert!(
                f.parse::<rightful_engine::register::Format>().is_ok(),
                "{f}"
            );
        }
    }
}
