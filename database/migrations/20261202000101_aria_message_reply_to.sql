-- Each ARIA answer names the question it answers: questions sent in parallel on one
-- session are answered in any order, so the order of the rows does not pair them.
-- Null for questions, and for answers stored before this column existed.
alter table aria_messages
    add column reply_to bigint references aria_messages (id) on delete set null,
    add constraint aria_messages_reply_to_is_an_answer
        check (reply_to is null or message_type = 'assistant');
create index aria_messages_reply_to_idx on aria_messages (reply_to) where reply_to is not null;
