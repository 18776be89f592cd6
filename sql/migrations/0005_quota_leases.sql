-- Leases: while a counter is far from its limit, an admission may take a
-- slice more than the request needs, for the replica to admit later
-- requests from memory. The slice is taken from the shared counter like any
-- reservation, so no replica can ever admit past the limit; near the limit
-- no slices are handed out and every request is admitted exactly.
--
-- A budget slice is reserved in the counter and recorded here, so that the
-- slice of a replica that dies is posted (at what it still holds) when it
-- expires; a live replica renews its leases. Per-minute slices (requests,
-- tokens) are counted as used at once and end with their minute.

CREATE TABLE quota_leases (
    lease_id   uuid        PRIMARY KEY,
    tenant_id  text        NOT NULL,
    scope      text        NOT NULL,
    scope_id   text        NOT NULL,
    bucket     timestamptz NOT NULL,
    amount     bigint      NOT NULL, -- micro-dollars still reserved by the lease
    expires_at timestamptz NOT NULL
);
CREATE INDEX quota_leases_expiry ON quota_leases (expires_at);

-- quota_take_lease is quota_take that also hands out a slice (p_extra) when
-- the counter stays at least 4 slices from its limit afterwards. It returns
-- the room left and the slice granted (0 when none).
CREATE FUNCTION quota_take_lease(
    p_tenant text, p_kind text, p_scope text, p_id text, p_bucket timestamptz,
    p_limit bigint, p_amount bigint, p_hard boolean, p_now timestamptz, p_extra bigint,
    OUT room bigint, OUT granted bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev bigint := 0;
    v_used bigint;
    v_reserved bigint;
BEGIN
    granted := 0;
    IF p_kind IN ('requests', 'tokens') THEN
        SELECT floor(c.used * greatest(0, 1 - extract(epoch FROM (p_now - p_bucket)) / 60)) INTO v_prev
        FROM quota_counters c
        WHERE c.tenant_id = p_tenant AND c.kind = p_kind AND c.scope = p_scope AND c.scope_id = p_id
          AND c.bucket = p_bucket - interval '1 minute';
        v_prev := coalesce(v_prev, 0);
    END IF;
    IF p_hard AND p_amount + v_prev > p_limit THEN
        room := NULL;
        RETURN;
    END IF;
    IF p_kind = 'budget' THEN
        INSERT INTO quota_counters AS c (tenant_id, kind, scope, scope_id, bucket, reserved)
        VALUES (p_tenant, p_kind, p_scope, p_id, p_bucket, p_amount)
        ON CONFLICT (tenant_id, kind, scope, scope_id, bucket) DO UPDATE SET reserved = c.reserved + p_amount
        WHERE NOT p_hard OR c.used + c.reserved + p_amount <= p_limit
        RETURNING c.used, c.reserved INTO v_used, v_reserved;
        IF NOT FOUND THEN
            room := NULL;
            RETURN;
        END IF;
        IF p_extra > 0 AND v_used + v_reserved + 5 * p_extra <= p_limit THEN
            UPDATE quota_counters c SET reserved = c.reserved + p_extra
            WHERE c.tenant_id = p_tenant AND c.kind = p_kind AND c.scope = p_scope AND c.scope_id = p_id AND c.bucket = p_bucket;
            granted := p_extra;
        END IF;
        room := p_limit - v_used - v_reserved - granted;
        RETURN;
    END IF;
    INSERT INTO quota_counters AS c (tenant_id, kind, scope, scope_id, bucket, used)
    VALUES (p_tenant, p_kind, p_scope, p_id, p_bucket, p_amount)
    ON CONFLICT (tenant_id, kind, scope, scope_id, bucket) DO UPDATE SET used = c.used + p_amount
    WHERE c.used + p_amount + v_prev <= p_limit
    RETURNING c.used INTO v_used;
    IF NOT FOUND THEN
        room := NULL;
        RETURN;
    END IF;
    IF p_extra > 0 AND p_kind <> 'concurrency' AND v_used + v_prev + 5 * p_extra <= p_limit THEN
        UPDATE quota_counters c SET used = c.used + p_extra
        WHERE c.tenant_id = p_tenant AND c.kind = p_kind AND c.scope = p_scope AND c.scope_id = p_id AND c.bucket = p_bucket;
        granted := p_extra;
    END IF;
    room := p_limit - v_used - v_prev - granted;
END
$$;

DROP FUNCTION quota_admit_batch(timestamptz, timestamptz, text[], uuid[], integer[], text[], text[], text[], timestamptz[], bigint[], bigint[], boolean[]);
DROP TYPE quota_batch_admission;
CREATE TYPE quota_batch_admission AS (request_index integer, refused_line integer, remaining bigint[], granted bigint[]);

-- quota_admit_batch (see 0004) now takes, per line, the slice to try for
-- (p_extras) and, for budget lines, the lease it joins (p_leases); it
-- returns the slices granted.
CREATE FUNCTION quota_admit_batch(
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
        PERFORM 1 FROM quota_counters c
        WHERE (c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket) IN (
            SELECT p_tenants[p_line_req[x]], p_kinds[x], p_scopes[x], p_ids[x], p_buckets[x] FROM generate_subscripts(p_kinds, 1) AS x)
        ORDER BY c.tenant_id, c.kind, c.scope, c.scope_id, c.bucket
        FOR UPDATE;
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

-- quota_consume posts what requests admitted from budget leases spent:
-- the counter moves it from reserved to used, the lease holds that much
-- less. Counters are locked before leases, as admissions do, so the two
-- never deadlock. It returns the budgets' spend before and after, like
-- quota_settle.
CREATE FUNCTION quota_consume(p_leases uuid[], p_amounts bigint[])
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p quota_posting;
    v_after bigint;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR d IN
        SELECT l.tenant_id, l.scope, l.scope_id, l.bucket, sum(s.amount) AS amount
        FROM unnest(p_leases, p_amounts) AS s(lease_id, amount)
        JOIN quota_leases l ON l.lease_id = s.lease_id
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    LOOP
        UPDATE quota_counters c SET used = c.used + d.amount, reserved = greatest(c.reserved - d.amount, 0)
        WHERE c.tenant_id = d.tenant_id AND c.kind = 'budget' AND c.scope = d.scope AND c.scope_id = d.scope_id AND c.bucket = d.bucket
        RETURNING c.used INTO v_after;
        p := ROW(d.tenant_id, d.scope, d.scope_id, d.bucket, v_after - d.amount, v_after);
        RETURN NEXT p;
    END LOOP;
    -- callers never spend more than a lease holds
    UPDATE quota_leases l SET amount = greatest(l.amount - s.amount, 0)
    FROM (SELECT x.lease_id, sum(x.amount) AS amount FROM unnest(p_leases, p_amounts) AS x(lease_id, amount) GROUP BY x.lease_id) s
    WHERE l.lease_id = s.lease_id;
END
$$;

-- quota_release gives back what budget leases hold unused (p_amounts) and
-- renews the rest until p_expires. A lease left with nothing is removed.
CREATE FUNCTION quota_release(p_leases uuid[], p_amounts bigint[], p_expires timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d record;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR d IN
        SELECT l.tenant_id, l.scope, l.scope_id, l.bucket, l.lease_id, least(s.amount, l.amount) AS amount
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

-- quota_expire (see 0004) also posts the leases of replicas that stopped
-- renewing them, at what they still hold: a reservation is never voided.
CREATE OR REPLACE FUNCTION quota_expire(p_now timestamptz, p_max integer)
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    v_tenants text[];
    v_requests uuid[];
    v_leases uuid[];
    v_amounts bigint[];
BEGIN
    SELECT array_agg(l.lease_id), array_agg(l.amount) INTO v_leases, v_amounts
    FROM (SELECT lease_id, amount FROM quota_leases WHERE expires_at < p_now LIMIT p_max) l;
    IF v_leases IS NOT NULL THEN
        RETURN QUERY SELECT * FROM quota_consume(v_leases, v_amounts);
        DELETE FROM quota_leases WHERE lease_id = ANY (v_leases);
    END IF;
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

DROP FUNCTION quota_take(text, text, text, text, timestamptz, bigint, bigint, boolean, timestamptz);
