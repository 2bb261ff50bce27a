//! The engine's tables, written to match `migrations/{sqlite,postgres}`; a test migrates both
//! backends and checks every table and column here exists with the same names.

diesel::table! {
    /// Data-subject requests.
    requests (id) {
        /// UUID.
        id -> Text,
        /// access, erasure, …
        kind -> Text,
        /// Lifecycle status.
        status -> Text,
        /// How it arrived (web, email, post, agent).
        channel -> Text,
        /// Receipt time, UTC (A1: immutable).
        received_at -> Timestamp,
        /// The legal due date in force.
        due_on -> Date,
        /// Whether the deadline was extended (A4).
        extended -> Bool,
        /// Last change, UTC.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Lifecycle transitions of each request.
    request_events (id) {
        /// UUID.
        id -> Text,
        /// The request.
        request_id -> Text,
        /// When, UTC.
        at -> Timestamp,
        /// Who.
        actor -> Text,
        /// Previous status (none for the first event).
        from_status -> Nullable<Text>,
        /// New status.
        to_status -> Text,
        /// Why.
        reason -> Text,
    }
}

diesel::table! {
    /// The append-only, hash-chained audit trail.
    audit_entries (seq) {
        /// Position from 1.
        seq -> BigInt,
        /// When, UTC.
        at -> Timestamp,
        /// Who.
        actor -> Text,
        /// What.
        action -> Text,
        /// On what.
        target -> Text,
        /// Why.
        reason -> Text,
        /// JSON object of identifiers and counts.
        details -> Text,
        /// Previous entry's hash.
        prev_hash -> Text,
        /// This entry's hash.
        hash -> Text,
    }
}

diesel::table! {
    /// The last audit entry written (one row, id 1).
    audit_head (id) {
        /// Always 1.
        id -> Integer,
        /// Last seq.
        seq -> BigInt,
        /// Last hash.
        hash -> Text,
    }
}

diesel::table! {
    /// Signed heads of the audit trail (JWS by Rightful's key), one per anchored position.
    audit_anchors (seq) {
        /// The anchored entry.
        seq -> BigInt,
        /// Its hash.
        hash -> Text,
        /// When it was signed, UTC.
        signed_at -> Timestamp,
        /// The compact JWS over `{typ, seq, hash, at}`.
        jws -> Text,
        /// When it was delivered to `[audit] anchor_url` (NULL: not yet).
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Art. 19 notifications of processors and recipients, and manual tasks.
    processor_notifications (id) {
        /// UUID.
        id -> Text,
        /// The request.
        request_id -> Text,
        /// Recipient id from the policy.
        recipient -> Text,
        /// erasure, rectification, restriction.
        event -> Text,
        /// webhook or manual.
        channel -> Text,
        /// acknowledged, failed, manual_pending, manual_done.
        status -> Text,
        /// Delivery attempts.
        attempts -> Integer,
        /// Last HTTP status.
        last_status -> Nullable<Integer>,
        /// Last error (no personal data).
        last_error -> Nullable<Text>,
        /// Due date of a manual task.
        due_on -> Nullable<Date>,
        /// Created, UTC.
        created_at -> Timestamp,
        /// Last change, UTC.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Staff accounts (DPO, auditors).
    staff (id) {
        /// UUID.
        id -> Text,
        /// Login name.
        username -> Text,
        /// `dpo` or `auditor`.
        role -> Text,
        /// Argon2 PHC string.
        password_hash -> Text,
        /// Created, UTC.
        created_at -> Timestamp,
        /// Disabled accounts cannot sign in.
        disabled -> Bool,
        /// Bumped to revoke every token issued before.
        token_version -> Integer,
    }
}

diesel::table! {
    /// Who a request is from (kept apart from the workflow), and its token's hash.
    request_subjects (request_id) {
        /// The request.
        request_id -> Text,
        /// The subject's e-mail address.
        email -> Text,
        /// Name, when given.
        name -> Nullable<Text>,
        /// JSON: free text, new values, grounds.
        details -> Text,
        /// SHA-256 of the per-request token.
        token_hash -> Text,
        /// The earlier request this one repeats.
        duplicate_of -> Nullable<Text>,
        /// When the requester's identity was verified (cleared by a DPO's doubt).
        verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Mail a stranger can cause, per address (keyed hash) and day.
    mail_quota (address_hash, day) {
        /// HMAC of the address.
        address_hash -> Text,
        /// The day, UTC.
        day -> Date,
        /// Messages sent that day.
        sent -> Integer,
    }
}

diesel::table! {
    /// Pending e-mail codes (hash, expiry, attempts left).
    identity_challenges (request_id) {
        /// The request.
        request_id -> Text,
        /// SHA-256 of request id and code.
        code_hash -> Text,
        /// When the code was sent (the clock pauses from here, A5).
        sent_at -> Timestamp,
        /// When it stops working.
        expires_at -> Timestamp,
        /// Wrong answers still allowed.
        attempts_left -> Integer,
    }
}

diesel::table! {
    /// Documents a request carries; the content goes once checked (A7).
    request_documents (request_id, kind) {
        /// The request.
        request_id -> Text,
        /// identity_document, death_certificate, heir_status, executor_designation, mandate.
        kind -> Text,
        /// When it was asked for.
        requested_at -> Timestamp,
        /// `policy` or the DPO who recorded a doubt.
        requested_by -> Text,
        /// When it was uploaded.
        received_at -> Nullable<Timestamp>,
        /// Its media type.
        content_type -> Nullable<Text>,
        /// The document, until checked.
        content -> Nullable<Binary>,
        /// When it was checked.
        checked_at -> Nullable<Timestamp>,
        /// Who checked it.
        checked_by -> Nullable<Text>,
        /// accepted or rejected.
        outcome -> Nullable<Text>,
        /// How it was checked.
        method -> Nullable<Text>,
    }
}

diesel::table! {
    /// Deadline reminders sent, one per request and threshold.
    reminders (request_id, threshold) {
        /// The request.
        request_id -> Text,
        /// Days before the due date (negative once overdue).
        threshold -> Integer,
        /// When.
        sent_at -> Timestamp,
    }
}

diesel::table! {
    /// Versions of a subject's specific post-mortem directives (D2).
    post_mortem_directives (subject_email, version) {
        /// The subject.
        subject_email -> Text,
        /// From 1.
        version -> Integer,
        /// The request that recorded it.
        request_id -> Text,
        /// register, update or revoke.
        action -> Text,
        /// JSON: the directives.
        directives -> Text,
        /// JSON: who carries them out, if named.
        executor -> Nullable<Text>,
        /// When.
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    /// One per request being carried out: the identities searched and the plan.
    executions (request_id) {
        /// The request.
        request_id -> Text,
        /// Discovery round (identities found in one store feed the others).
        round -> Integer,
        /// JSON: identity kind → values.
        identities -> Text,
        /// JSON: the plan, once discovery is done.
        plan -> Nullable<Text>,
        /// JSON: what was done, for the reply and the certificate.
        outcome -> Nullable<Text>,
        /// Created.
        created_at -> Timestamp,
        /// Updated.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The execution journal: each step of each request, claimed under a lease.
    execution_jobs (id) {
        /// UUID.
        id -> Text,
        /// The request.
        request_id -> Text,
        /// discover, apply, notify or finalize.
        step -> Text,
        /// The store, or `-`.
        store -> Text,
        /// Discovery round.
        round -> Integer,
        /// pending, running, done or failed.
        status -> Text,
        /// Attempts so far.
        attempts -> Integer,
        /// Not before.
        run_at -> Timestamp,
        /// A running job whose lease has passed is taken over.
        lease_until -> Nullable<Timestamp>,
        /// Who holds it.
        worker -> Nullable<Text>,
        /// JSON result.
        result -> Nullable<Text>,
        /// The last failure (no personal data).
        last_error -> Nullable<Text>,
        /// Created.
        created_at -> Timestamp,
        /// Updated.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Subjects whose death was notified and verified (D1).
    deceased_subjects (email) {
        /// The subject's address.
        email -> Text,
        /// The notice of death.
        request_id -> Text,
        /// When.
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    /// Marketing objections honoured later: a keyed hash of the address per purpose (C7).
    suppressions (purpose, subject_hash) {
        /// The marketing purpose.
        purpose -> Text,
        /// HMAC of the address.
        subject_hash -> Text,
        /// The objection.
        request_id -> Text,
        /// When.
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Legal holds: a subject's records kept whatever their age.
    legal_holds (id) {
        /// UUID.
        id -> Text,
        /// The identity kind (email, customer_id, …).
        kind -> Text,
        /// Its value.
        value -> Text,
        /// Why (the claim, the investigation).
        reason -> Text,
        /// Who placed it.
        created_by -> Text,
        /// When.
        created_at -> Timestamp,
        /// When it was released.
        released_at -> Nullable<Timestamp>,
        /// Who released it.
        released_by -> Nullable<Text>,
    }
}

diesel::table! {
    /// DRP pair-wise tokens: one per registered agent (a new set-up replaces it).
    drp_agents (agent_id) {
        /// The agent's id in the registry.
        agent_id -> Text,
        /// SHA-256 of the bearer token.
        token_hash -> Text,
        /// When it was issued.
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Signed DRP messages already accepted: a replay is refused until the message expires.
    drp_messages (hash) {
        /// SHA-256 of the signed body.
        hash -> Text,
        /// The agent that sent it.
        agent_id -> Text,
        /// Its `expires-at`.
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Requests received over DRP: the agent, its callback and how the last status was pushed.
    drp_requests (id) {
        /// The DRP `request_id` (the request's own id when one was opened).
        id -> Text,
        /// The agent managing it.
        agent_id -> Text,
        /// The request opened in the queue, if any (none when denied at once).
        request_id -> Nullable<Text>,
        /// The agent's own id for it, echoed as `agent_request_id`.
        agent_request_id -> Nullable<Text>,
        /// The DRP exercise.
        exercise -> Text,
        /// The regime the agent named.
        regime -> Nullable<Text>,
        /// Where status changes are pushed.
        status_callback -> Nullable<Text>,
        /// The signed message as received (base64): the agent's attestation, kept as proof of
        /// its authority (A13).
        signed -> Text,
        /// When it arrived.
        received_at -> Timestamp,
        /// The DRP reason when it was denied at once (`claim_not_covered`, …).
        denied_reason -> Nullable<Text>,
        /// Words for the agent about that denial or the revocation.
        processing_details -> Nullable<Text>,
        /// The last status object pushed to the callback (or given up on).
        pushed -> Nullable<Text>,
        /// Failed pushes of the current status.
        push_attempts -> Integer,
        /// When the next push may be tried.
        next_push_at -> Nullable<Timestamp>,
        /// Last change.
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Issue 13 item 6: a request's downloadable result, complete once this row exists (written in
    /// the same transaction as its chunks).
    results (request_id) {
        /// The request.
        request_id -> Text,
        /// The ZIP's size in bytes.
        size -> BigInt,
        /// The ZIP's SHA-256, hex.
        sha256 -> Text,
        /// When it was stored.
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The bytes of a request's result ZIP, in chunks read in order of `seq`.
    result_chunks (request_id, seq) {
        /// The request.
        request_id -> Text,
        /// The chunk's place, from 0.
        seq -> Integer,
        /// Its bytes (256 KiB, the last one shorter).
        bytes -> Binary,
    }
}

diesel::table! {
    /// Issue 14: mail sent after commit, at most once per (request, template).
    mail_outbox (id) {
        /// UUID.
        id -> Text,
        /// The request.
        request_id -> Text,
        /// The notice template (`completed`).
        template -> Text,
        /// The deterministic Message-ID header.
        message_id -> Text,
        /// The address; emptied once sent or given up on.
        recipient -> Text,
        /// The subject; emptied once sent or given up on.
        subject -> Text,
        /// The body; emptied once sent or given up on.
        body -> Text,
        /// The language written in.
        language -> Text,
        /// pending, sent, failed.
        status -> Text,
        /// Sending attempts made.
        attempts -> Integer,
        /// When the next attempt is due.
        next_at -> Timestamp,
        /// A sender's claim, until when.
        claimed_until -> Nullable<Timestamp>,
        /// The kind of the last failure (no personal data).
        last_error -> Nullable<Text>,
        /// Written (with the request's completion).
        created_at -> Timestamp,
        /// Sent.
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Issue 14: one Art. 19 webhook delivery per request x recipient x event.
    webhook_deliveries (id) {
        /// The delivery id (`Rightful-Delivery-Id`).
        id -> Text,
        /// The request (or the retention sweep).
        request_id -> Text,
        /// Recipient id.
        recipient -> Text,
        /// erasure, rectification, restriction.
        event -> Text,
        /// execution, objection_upheld, retention.
        occasion -> Text,
        /// sending, acknowledged, failed.
        status -> Text,
        /// Attempts made in all.
        attempts -> Integer,
        /// Last HTTP status.
        last_status -> Nullable<Integer>,
        /// Last error (no personal data).
        last_error -> Nullable<Text>,
        /// Recorded before the first call.
        created_at -> Timestamp,
        /// Last change.
        updated_at -> Timestamp,
    }
}

diesel::joinable!(request_events -> requests (request_id));
diesel::joinable!(request_subjects -> requests (request_id));
diesel::joinable!(processor_notifications -> requests (request_id));
diesel::allow_tables_to_appear_in_same_query!(
    requests,
    request_events,
    processor_notifications,
    request_subjects
);

/// Every table and its columns, as declared above, for the schema parity test.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "requests",
        &[
            "id",
            "kind",
            "status",
            "channel",
            "received_at",
            "due_on",
            "extended",
            "updated_at",
        ],
    ),
    (
        "request_events",
        &[
            "id",
            "request_id",
            "at",
            "actor",
            "from_status",
            "to_status",
            "reason",
        ],
    ),
    (
        "audit_entries",
        &[
            "seq",
            "at",
            "actor",
            "action",
            "target",
            "reason",
            "details",
            "prev_hash",
            "hash",
        ],
    ),
    ("audit_head", &["id", "seq", "hash"]),
    (
        "audit_anchors",
        &["seq", "hash", "signed_at", "jws", "sent_at"],
    ),
    (
        "staff",
        &[
            "id",
            "username",
            "role",
            "password_hash",
            "created_at",
            "disabled",
            "token_version",
        ],
    ),
    (
        "identity_challenges",
        &[
            "request_id",
            "code_hash",
            "sent_at",
            "expires_at",
            "attempts_left",
        ],
    ),
    (
        "request_subjects",
        &[
            "request_id",
            "email",
            "name",
            "details",
            "token_hash",
            "duplicate_of",
            "verified_at",
        ],
    ),
    ("mail_quota", &["address_hash", "day", "sent"]),
    (
        "request_documents",
        &[
            "request_id",
            "kind",
            "requested_at",
            "requested_by",
            "received_at",
            "content_type",
            "content",
            "checked_at",
            "checked_by",
            "outcome",
            "method",
        ],
    ),
    ("reminders", &["request_id", "threshold", "sent_at"]),
    ("deceased_subjects", &["email", "request_id", "recorded_at"]),
    (
        "suppressions",
        &["purpose", "subject_hash", "request_id", "created_at"],
    ),
    (
        "legal_holds",
        &[
            "id",
            "kind",
            "value",
            "reason",
            "created_by",
            "created_at",
            "released_at",
            "released_by",
        ],
    ),
    (
        "executions",
        &[
            "request_id",
            "round",
            "identities",
            "plan",
            "outcome",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "execution_jobs",
        &[
            "id",
            "request_id",
            "step",
            "store",
            "round",
            "status",
            "attempts",
            "run_at",
            "lease_until",
            "worker",
            "result",
            "last_error",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "post_mortem_directives",
        &[
            "subject_email",
            "version",
            "request_id",
            "action",
            "directives",
            "executor",
            "recorded_at",
        ],
    ),
    ("drp_agents", &["agent_id", "token_hash", "created_at"]),
    (
        "mail_outbox",
        &[
            "id",
            "request_id",
            "template",
            "message_id",
            "recipient",
            "subject",
            "body",
            "language",
            "status",
            "attempts",
            "next_at",
            "claimed_until",
            "last_error",
            "created_at",
            "sent_at",
        ],
    ),
    (
        "webhook_deliveries",
        &[
            "id",
            "request_id",
            "recipient",
            "event",
            "occasion",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
            "updated_at",
        ],
    ),
    ("results", &["request_id", "size", "sha256", "created_at"]),
    ("result_chunks", &["request_id", "seq", "bytes"]),
    ("drp_messages", &["hash", "agent_id", "expires_at"]),
    (
        "drp_requests",
        &[
            "id",
            "agent_id",
            "request_id",
            "agent_request_id",
            "exercise",
            "regime",
            "status_callback",
            "signed",
            "received_at",
            "denied_reason",
            "processing_details",
            "pushed",
            "push_attempts",
            "next_push_at",
            "updated_at",
        ],
    ),
    (
        "processor_notifications",
        &[
            "id",
            "request_id",
            "recipient",
            "event",
            "channel",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "due_on",
            "created_at",
            "updated_at",
        ],
    ),
];
