-- A blob goes when its last reference does, found by its own key: the collection after every
-- task.delete and purge batch scanned the whole blobs table (inside the write transaction).
-- Removing a task removes its blob_refs (ON DELETE CASCADE), and this trigger the blobs only
-- it used. Blobs left unreferenced before this migration go now.

DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = blobs.blob_id);
CREATE TRIGGER blobs_follow_refs AFTER DELETE ON blob_refs
BEGIN
  DELETE FROM blobs WHERE blob_id = OLD.blob_id
    AND NOT EXISTS (SELECT 1 FROM blob_refs WHERE blob_id = OLD.blob_id);
END;
