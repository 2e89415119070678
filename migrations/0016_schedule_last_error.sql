-- Why a schedule's last slot did not fire (its agent's queue full, its task refused, a failed
-- write): shown by schedule.list until a slot fires. Before, only the log said so, every tick.

ALTER TABLE schedules ADD COLUMN last_error TEXT CHECK (last_error IS NULL OR json_valid(last_error));
