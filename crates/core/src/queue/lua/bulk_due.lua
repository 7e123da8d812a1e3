-- KEYS: hold, backfill, reconcile.
-- What a worker with a drained queue needs to decide on a bulk slice, in one round trip.
-- Reply: [held (0|1), backfill state ('' = none), backfill runId, reconcile nextAt ('' = never set)].
return {
  redis.call('EXISTS', KEYS[1]),
  redis.call('HGET', KEYS[2], 'state') or '',
  redis.call('HGET', KEYS[2], 'runId') or '',
  redis.call('HGET', KEYS[3], 'nextAt') or '',
}
