-- Tokens set aside for ARIA answers being prepared. Checking a daily budget and
-- spending it are one step: a question reserves what its answer may cost (under
-- advisory locks on the student and their classes) before the model is called, and
-- the answer's transaction replaces the reservation by the real count in aria_usage.
-- A reservation left behind by a crash stops counting after ten minutes.
create table aria_budget_reservations (
    id          bigint generated always as identity primary key,
    user_id     bigint not null references users (id) on delete cascade,
    tokens      bigint not null check (tokens >= 0),
    created_at  timestamptz not null default now()
);
create index aria_budget_reservations_user_idx on aria_budget_reservations (user_id, created_at);
