-- One lock order for every writer of quota counters and leases: counters
-- first, created if missing and locked in key order, then the leases and
-- holds that refer to them. A lease's amount is read only once its counter
-- is locked, so a lease posted on expiry is never posted again by its
-- replica, and a slice given back is never given back twice.

-- quota_lock_counters locks the counters a statement is about to touch, in
-- key order, so that two transactions touching the same counters wait for
-- each other instead of deadlocking. With p_create it first creates those
-- missing (at zero), in the same order: a row being inserted by another
-- transaction is waited for like a locked one.
CREATE FUNCTION quota_lock_counters(p_tenants text[], p_kinds text[], p_scopes text[], p_ids text[], p_buckets timestamptz[], p_create boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_create THEN
        INSERT INTO quota_counters (tenant_id, kind, scope, scope_id, bucket)
        SELECT DISTINCT k.tenant_id, k.kind, k.scope, k.scope_id, k.bucket
        FROM unnest(p_tenants, p_kinds, p_scopes, p_ids, p_buckets) AS k(tenant_id, kind, scope, scope_id, bucket)
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (tenant_id, kind, scope, scope_id, bucket) DO NOTHING;
    END IF;
    PERFORM 1 FROM quota_counters c
    WHERE (c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket) IN (
        SELECT * FROM unnest(p_tenants, p_kinds, p_scopes, p_ids, p_buckets))
    ORDER BY c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket
    FOR UPDATE;
END
$$;

-- quota_lock_lease_counters locks the budget counters of leases, in key
-- order; a lease's counter always exists.
CREATE FUNCTION quota_lock_lease_counters(p_leases uuid[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM quota_counters c
    WHERE (c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket) IN (
        SELECT l.tenant_id, 'budget', l.scope, l.scope_id, l.bucket FROM quota_leases l WHERE l.lease_id = ANY (p_leases))
    ORDER BY c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket
    FOR UPDATE;
END
$$;

-- quota_admit_batch (see 0005) creates and locks the counters of a batch
-- of several requests through quota_lock_counters. A batch of one needs
-- neither: its lines are sorted, so its upserts already take their locks
-- in key order.
CREATE OR REPLACE FUNCTION quota_admit_batch(
    p_now timestamptz, p_expires timestamptz, p_tenants text[], p_requests uuid[],
    p_line_req integer[], p_kinds text[], p_scopes text[], p_ids text[], p_buckets timestamptz[],
    p_limits bigint[], p_amounts bigint[], p_hards boolean[], p_extras bigint[], p_leases uuid[],
    p_lease_expires timestamptz
) RETURNS SETOF quota_batch_admission
LANGUAGE plpgsql AS $$
DECLARE
    n_req integer := coalesce(array_length(p_requests, 1), 0);
    n_lines integer := coalesce(array_length(p_kinds, 1), 0);
    i integer := 1;
    k integer;
    v_failed integer;
    t record;
    v_room bigint[];
    v_granted bigint[];
    res quota_batch_admission;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF n_req > 1 THEN
        PERFORM quota_lock_counters(
            ARRAY(SELECT p_tenants[p_line_req[x]] FROM generate_subscripts(p_kinds, 1) AS x ORDER BY x),
            p_kinds, p_scopes, p_ids, p_buckets, true);
    END IF;
    FOR r IN 1..n_req LOOP
        v_failed := 0;
        v_room := '{}';
        v_granted := '{}';
        k := i;
        WHILE k <= n_lines AND p_line_req[k] = r LOOP
            k := k + 1;
        END LOOP;
        BEGIN
            FOR j IN i..k - 1 LOOP
                t := quota_take_lease(p_tenants[r], p_kinds[j], p_scopes[j], p_ids[j], p_buckets[j], p_limits[j],
                                      p_amounts[j], p_hards[j], p_now, p_extras[j]);
                IF t.room IS NULL THEN
                    v_failed := j - i + 1;
                    RAISE EXCEPTION USING ERRCODE = 'GH429';
                END IF;
                IF t.granted > 0 AND p_kinds[j] = 'budget' THEN
                    INSERT INTO quota_leases AS l (lease_id, tenant_id, scope, scope_id, bucket, amount, expires_at)
                    VALUES (p_leases[j], p_tenants[r], p_scopes[j], p_ids[j], p_buckets[j], t.granted, p_lease_expires)
                    ON CONFLICT (lease_id) DO UPDATE SET amount = l.amount + t.granted, expires_at = p_lease_expires;
                END IF;
                v_room := v_room || t.room;
                v_granted := v_granted || t.granted;
            END LOOP;
            IF k > i THEN
                INSERT INTO quota_admissions (tenant_id, request_id, kinds, scopes, scope_ids, buckets, amounts, expires_at)
                VALUES (p_tenants[r], p_requests[r], p_kinds[i:k - 1], p_scopes[i:k - 1], p_ids[i:k - 1], p_buckets[i:k - 1], p_amounts[i:k - 1], p_expires);
            END IF;
        EXCEPTION WHEN SQLSTATE 'GH429' THEN
            NULL;
        END;
        i := k;
        res.request_index := r;
        res.refused_line := v_failed;
        res.remaining := CASE WHEN v_failed = 0 THEN v_room END;
        res.granted := CASE WHEN v_failed = 0 THEN v_granted END;
        RETURN NEXT res;
    END LOOP;
END
$$;

-- quota_consume posts what requests admitted from slices spent, line by
-- line: p_amounts is what they took from a budget lease (p_leases; null
-- for a per-minute slice), p_excess what they spent beyond their slice's
-- share (a request can cost more than its estimate), which is posted as
-- used too. A lease posts at most what it still holds: a lease already
-- posted on expiry counted what it held then. It returns the budgets'
-- spend before and after, like quota_settle.
DROP FUNCTION quota_consume(uuid[], bigint[]);
CREATE FUNCTION quota_consume(
    p_tenants text[], p_kinds text[], p_scopes text[], p_ids text[], p_buckets timestamptz[],
    p_leases uuid[], p_amounts bigint[], p_excess bigint[]
) RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p quota_posting;
    v_after bigint;
    v_ids uuid[];
    v_taken bigint[];
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    -- a slice's counter exists: it was taken from it
    PERFORM quota_lock_counters(p_tenants, p_kinds, p_scopes, p_ids, p_buckets, false);
    SELECT coalesce(array_agg(l.lease_id), '{}'), coalesce(array_agg(least(s.amount, l.amount)), '{}') INTO v_ids, v_taken
    FROM (SELECT x.lease_id, sum(greatest(x.amount, 0)) AS amount
          FROM unnest(p_leases, p_amounts) AS x(lease_id, amount) WHERE x.lease_id IS NOT NULL GROUP BY x.lease_id) s
    JOIN quota_leases l ON l.lease_id = s.lease_id;
    UPDATE quota_leases l SET amount = l.amount - z.taken
    FROM unnest(v_ids, v_taken) AS z(lease_id, taken) WHERE l.lease_id = z.lease_id;
    FOR d IN
        WITH s AS (
            SELECT * FROM unnest(p_tenants, p_kinds, p_scopes, p_ids, p_buckets, p_leases, p_excess)
                AS s(tenant_id, kind, scope, scope_id, bucket, lease_id, excess)
        ), deltas AS (
            SELECT s.tenant_id, s.kind, s.scope, s.scope_id, s.bucket, 0::bigint AS taken, greatest(s.excess, 0) AS excess FROM s
            UNION ALL
            SELECT k.tenant_id, k.kind, k.scope, k.scope_id, k.bucket, z.taken, 0
            FROM (SELECT DISTINCT s.lease_id, s.tenant_id, s.kind, s.scope, s.scope_id, s.bucket FROM s WHERE s.lease_id IS NOT NULL) k
            JOIN unnest(v_ids, v_taken) AS z(lease_id, taken) ON z.lease_id = k.lease_id
        )
        SELECT tenant_id, kind, scope, scope_id, bucket, sum(taken) AS taken, sum(excess) AS excess
        FROM deltas GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    LOOP
        UPDATE quota_counters c SET used = c.used + d.taken + d.excess, reserved = greatest(c.reserved - d.taken, 0)
        WHERE c.tenant_id = d.tenant_id AND c.kind = d.kind AND c.scope = d.scope AND c.scope_id = d.scope_id AND c.bucket = d.bucket
        RETURNING c.used INTO v_after;
        IF d.kind = 'budget' AND d.taken + d.excess > 0 THEN
            p := ROW(d.tenant_id, d.scope, d.scope_id, d.bucket, v_after - d.taken - d.excess, v_after);
            RETURN NEXT p;
        END IF;
    END LOOP;
END
$$;

-- quota_release (see 0005) reads what a lease holds only once its counter
-- is locked.
CREATE OR REPLACE FUNCTION quota_release(p_leases uuid[], p_amounts bigint[], p_expires timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d record;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM quota_lock_lease_counters(p_leases);
    FOR d IN
        SELECT l.tenant_id, l.scope, l.scope_id, l.bucket, l.lease_id, least(greatest(s.amount, 0), l.amount) AS amount
        FROM unnest(p_leases, p_amounts) AS s(lease_id, amount)
        JOIN quota_leases l ON l.lease_id = s.lease_id
        ORDER BY l.tenant_id, l.scope, l.scope_id, l.bucket
    LOOP
        UPDATE quota_counters c SET reserved = greatest(c.reserved - d.amount, 0)
        WHERE c.tenant_id = d.tenant_id AND c.kind = 'budget' AND c.scope = d.scope AND c.scope_id = d.scope_id AND c.bucket = d.bucket;
        UPDATE quota_leases SET amount = amount - d.amount, expires_at = p_expires WHERE lease_id = d.lease_id;
    END LOOP;
    DELETE FROM quota_leases WHERE lease_id = ANY (p_leases) AND amount <= 0;
END
$$;

-- quota_expire_leases posts the slices of replicas that stopped renewing
-- them, at what they still hold: a reservation is never voided. It runs in
-- its own transaction, apart from the expiry of holds.
CREATE FUNCTION quota_expire_leases(p_now timestamptz, p_max integer)
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p quota_posting;
    v_after bigint;
    v_leases uuid[];
BEGIN
    SELECT array_agg(x.lease_id) INTO v_leases
    FROM (SELECT l.lease_id FROM quota_leases l WHERE l.expires_at < p_now LIMIT p_max) x;
    IF v_leases IS NULL THEN
        RETURN;
    END IF;
    PERFORM quota_lock_lease_counters(v_leases);
    FOR d IN
        WITH gone AS (
            DELETE FROM quota_leases l WHERE l.lease_id = ANY (v_leases) AND l.expires_at < p_now
            RETURNING l.tenant_id, l.scope, l.scope_id, l.bucket, l.amount
        )
        SELECT g.tenant_id, g.scope, g.scope_id, g.bucket, sum(g.amount) AS amount
        FROM gone g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    LOOP
        UPDATE quota_counters c SET used = c.used + d.amount, reserved = greatest(c.reserved - d.amount, 0)
        WHERE c.tenant_id = d.tenant_id AND c.kind = 'budget' AND c.scope = d.scope AND c.scope_id = d.scope_id AND c.bucket = d.bucket
        RETURNING c.used INTO v_after;
        IF d.amount > 0 THEN
            p := ROW(d.tenant_id, d.scope, d.scope_id, d.bucket, v_after - d.amount, v_after);
            RETURN NEXT p;
        END IF;
    END LOOP;
END
$$;

-- quota_expire is back to expiring holds only (as in 0004).
CREATE OR REPLACE FUNCTION quota_expire(p_now timestamptz, p_max integer)
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    v_tenants text[];
    v_requests uuid[];
BEGIN
    SELECT array_agg(x.tenant_id), array_agg(x.request_id) INTO v_tenants, v_requests
    FROM (SELECT a.tenant_id, a.request_id FROM quota_admissions a WHERE a.expires_at < p_now LIMIT p_max) x;
    IF v_tenants IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM quota_settle(v_tenants, v_requests,
        array_fill(-1::bigint, ARRAY[array_length(v_tenants, 1)]),
        array_fill(-1::bigint, ARRAY[array_length(v_tenants, 1)]));
END
$$;
