-- Issue #17, item 2: data exports (the right of access) and the retention purge.

-- One row per export asked for. The ZIP is produced by the worker (status 'pending' →
-- 'ready' or 'failed'), kept in the row so that any replica serves it, and dropped by the
-- purge once expired (status 'expired', file null). A parent's export of their child:
-- requester = the parent, subject = the child.
create table data_exports (
    id            bigint generated always as identity primary key,
    requester_id  bigint not null references users (id) on delete cascade,
    subject_id    bigint not null references users (id) on delete cascade,
    status        text not null default 'pending'
        check (status in ('pending', 'ready', 'failed', 'expired')),
    attempts      integer not null default 0,
    file          bytea,
    file_size     bigint,
    created_at    timestamptz not null default now(),
    ready_at      timestamptz,
    expires_at    timestamptz,
    downloaded_at timestamptz
);
create index data_exports_requester_idx on data_exports (requester_id, id desc);
create index data_exports_subject_idx on data_exports (subject_id);
create index data_exports_pending_idx on data_exports (id) where status = 'pending';
create index data_exports_expiry_idx on data_exports (expires_at) where file is not null;
-- One export in the making per requester and subject.
create unique index data_exports_one_pending_key on data_exports (requester_id, subject_id)
    where status = 'pending';

-- The retention purge looks rows up by age.
create index aria_sessions_last_interaction_idx on aria_sessions (last_interaction);
create index notifications_created_idx on notifications (created_at);
