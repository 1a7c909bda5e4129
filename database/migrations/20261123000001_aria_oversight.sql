-- ARIA: what the model costs (tokens and euros per user and day), the daily budgets
-- teachers set, students' ratings of answers, and the moderation flags teachers see.

-- One row per user and day; a class's use is the sum over its members.
create table aria_usage (
    user_id            bigint not null references users (id) on delete cascade,
    day                date not null default current_date,
    requests           integer not null default 0,
    prompt_tokens      bigint not null default 0,
    completion_tokens  bigint not null default 0,
    cost_euros         numeric(14, 6) not null default 0,
    primary key (user_id, day)
);
create index aria_usage_day_idx on aria_usage (day);

-- Daily token budgets set by a teacher (or an admin); without a row the configured
-- default applies. `scope_id` is a user id for 'student', a class id for 'class'.
create table aria_budgets (
    scope         text not null check (scope in ('student', 'class')),
    scope_id      bigint not null,
    daily_tokens  bigint not null check (daily_tokens between 0 and 100000000),
    updated_by    bigint references users (id) on delete set null,
    updated_at    timestamptz not null default now(),
    primary key (scope, scope_id)
);

alter table aria_messages
    add column helpful boolean,
    add column rating_comment text check (length(rating_comment) <= 1000),
    add column rated_at timestamptz;

-- A question or an answer that the moderation step flagged. The excerpt is a copy:
-- a student deleting the session does not hide the flag from the teacher.
create table aria_flags (
    id           bigint generated always as identity primary key,
    user_id      bigint not null references users (id) on delete cascade,
    session_id   text not null,
    direction    text not null check (direction in ('question', 'answer')),
    category     text not null,
    source       text not null check (source in ('local', 'provider')),
    excerpt      text not null,
    reviewed_by  bigint references users (id) on delete set null,
    reviewed_at  timestamptz,
    created_at   timestamptz not null default now()
);
create index aria_flags_user_idx on aria_flags (user_id, created_at desc);
