-- 0003_replay_claims: one process runs a replay at a time. The process running it claims it for a
-- while before each page (`claimed_by`, `claimed_until`, epoch ms); a process that died loses the
-- claim when it expires, and another process, looking for running replays, takes the job over.
ALTER TABLE replays ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
