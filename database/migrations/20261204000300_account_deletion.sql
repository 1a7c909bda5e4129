-- Account deletion with a grace period (issue #17, docs/PRIVACY.md "Deletion and erasure").
-- A pending request disables the account at once; the purge erases it after `erase_after`.
create table deletion_requests (
    user_id            bigint primary key references users (id) on delete cascade,
    -- Plain numbers, like the audit log: the requester may be erased first.
    requested_by       bigint not null,
    requested_by_role  text not null check (requested_by_role in ('student', 'parent', 'teacher', 'admin')),
    requested_at       timestamptz not null default now(),
    erase_after        timestamptz not null,
    -- Restored on cancel (an account an admin had disabled stays disabled).
    was_active         boolean not null
);
create index deletion_requests_due_idx on deletion_requests (erase_after);

-- Set on the anonymous account that keeps an erased user's grades (and class membership)
-- so that the class's statistics still count them. Nobody signs in to it.
alter table users add column anonymised_at timestamptz;
