-- Emails people want: a digest of unread notifications, daily or weekly, with a
-- per-category opt-out; and a mail queue so that sending never blocks a request and
-- is retried when the SMTP server is away.

create table notification_preferences (
    user_id             bigint primary key references users (id) on delete cascade,
    digest_frequency    text not null default 'weekly'
        check (digest_frequency in ('off', 'daily', 'weekly')),
    digest_grades       boolean not null default true,
    digest_assessments  boolean not null default true,
    digest_messages     boolean not null default true,
    -- The end of the period the last digest covered (the next one starts there).
    last_digest_at      timestamptz,
    updated_at          timestamptz not null default now()
);
create trigger notification_preferences_updated_at before update on notification_preferences
    for each row execute function set_updated_at();

create table mail_queue (
    id               bigint generated always as identity primary key,
    kind             text not null check (length(kind) <= 50),
    to_address       text not null check (length(to_address) <= 254),
    subject          text not null,
    text_body        text not null,
    html_body        text,
    -- RFC 8058 one-click unsubscribe URL, if any.
    unsubscribe_url  text,
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    sent_at          timestamptz,
    -- Why the last attempt failed (no mail content, no credentials).
    last_error       text,
    created_at       timestamptz not null default now()
);
create index mail_queue_pending_idx on mail_queue (next_attempt_at) where sent_at is null;
