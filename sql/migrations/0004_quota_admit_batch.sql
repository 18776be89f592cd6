-- Admissions in batches, and cheaper. One transaction admits many requests,
-- each all-or-nothing: under one hot key, admitting requests one
-- transaction each queued them behind every commit. A request now costs one
-- upsert per line and one row for its holds (instead of a row per line).
--
-- The batch commits without waiting for the WAL flush (synchronous_commit
-- off, for that transaction only): gatehouse crashing loses nothing (the
-- commit is in Postgres), and a Postgres crash can forget at most the
-- admissions and settlements of its last few hundred milliseconds.
-- docs/governance.md states the bound.

CREATE TABLE quota_admissions (
    tenant_id  text          NOT NULL,
    request_id uuid          NOT NULL,
    kinds      text[]        NOT NULL,
    scopes     text[]        NOT NULL,
    scope_ids  text[]        NOT NULL,
    buckets    timestamptz[] NOT NULL,
    amounts    bigint[]      NOT NULL,
    expires_at timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX quota_admissions_expiry ON quota_admissions (expires_at);

CREATE TYPE quota_batch_admission AS (request_index integer, refused_line integer, remaining bigint[]);

-- quota_take moves one counter by amount if it fits (always, when not hard)
-- and returns the room left, or NULL when it does not fit. Requests and
-- tokens count a sliding minute: the previous minute weighs in proportion
-- to how much of it the window still covers.
CREATE FUNCTION quota_take(
    p_tenant text, p_kind text, p_scope text, p_id text, p_bucket timestamptz,
    p_limit bigint, p_amount bigint, p_hard boolean, p_now timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_prev bigint := 0;
    v_used bigint;
    v_reserved bigint;
BEGIN
    IF p_kind IN ('requests', 'tokens') THEN
        SELECT floor(c.used * greatest(0, 1 - extract(epoch FROM (p_now - p_bucket)) / 60)) INTO v_prev
        FROM quota_counters c
        WHERE c.tenant_id = p_tenant AND c.kind = p_kind AND c.scope = p_scope AND c.scope_id = p_id
          AND c.bucket = p_bucket - interval '1 minute';
        v_prev := coalesce(v_prev, 0);
    END IF;
    IF p_hard AND p_amount + v_prev > p_limit THEN
        RETURN NULL;
    END IF;
    IF p_kind = 'budget' THEN
        INSERT INTO quota_counters AS c (tenant_id, kind, scope, scope_id, bucket, reserved)
        VALUES (p_tenant, p_kind, p_scope, p_id, p_bucket, p_amount)
        ON CONFLICT (tenant_id, kind, scope, scope_id, bucket) DO UPDATE SET reserved = c.reserved + p_amount
        WHERE NOT p_hard OR c.used + c.reserved + p_amount <= p_limit
        RETURNING c.used, c.reserved INTO v_used, v_reserved;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        RETURN p_limit - v_used - v_reserved;
    END IF;
    INSERT INTO quota_counters AS c (tenant_id, kind, scope, scope_id, bucket, used)
    VALUES (p_tenant, p_kind, p_scope, p_id, p_bucket, p_amount)
    ON CONFLICT (tenant_id, kind, scope, scope_id, bucket) DO UPDATE SET used = c.used + p_amount
    WHERE c.used + p_amount + v_prev <= p_limit
    RETURNING c.used INTO v_used;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN p_limit - v_used - v_prev;
END
$$;

-- quota_admit_batch admits requests in order. p_line_req names, for each
-- line, the (1-based) request it belongs to; a request's lines are
-- contiguous and sorted (callers sort them the same way everywhere). When a
-- batch holds several requests, their existing counters are locked first in
-- one global order, so that batches from different replicas never deadlock.
-- For each request it returns refused_line = 0 and each line's remaining
-- room, or the 1-based line (within the request) that did not fit, having
-- changed nothing for that request.
CREATE FUNCTION quota_admit_batch(
    p_now timestamptz, p_expires timestamptz, p_tenants text[], p_requests uuid[],
    p_line_req integer[], p_kinds text[], p_scopes text[], p_ids text[], p_buckets timestamptz[],
    p_limits bigint[], p_amounts bigint[], p_hards boolean[]
) RETURNS SETOF quota_batch_admission
LANGUAGE plpgsql AS $$
DECLARE
    n_req integer := coalesce(array_length(p_requests, 1), 0);
    n_lines integer := coalesce(array_length(p_kinds, 1), 0);
    i integer := 1;
    j integer;
    k integer;
    v_failed integer;
    v_left bigint;
    v_room bigint[];
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
        k := i;
        WHILE k <= n_lines AND p_line_req[k] = r LOOP
            k := k + 1;
        END LOOP;
        BEGIN
            FOR j IN i..k - 1 LOOP
                v_left := quota_take(p_tenants[r], p_kinds[j], p_scopes[j], p_ids[j], p_buckets[j], p_limits[j], p_amounts[j], p_hards[j], p_now);
                IF v_left IS NULL THEN
                    v_failed := j - i + 1;
                    RAISE EXCEPTION USING ERRCODE = 'GH429';
                END IF;
                v_room := v_room || v_left;
            END LOOP;
            IF k > i THEN
                INSERT INTO quota_admissions (tenant_id, request_id, kinds, scopes, scope_ids, buckets, amounts, expires_at)
                VALUES (p_tenants[r], p_requests[r], p_kinds[i:k - 1], p_scopes[i:k - 1], p_ids[i:k - 1], p_buckets[i:k - 1], p_amounts[i:k - 1], p_expires);
            END IF;
        EXCEPTION WHEN SQLSTATE 'GH429' THEN
            NULL; -- this request's changes are undone; v_failed says which line
        END;
        i := k;
        res.request_index := r;
        res.refused_line := v_failed;
        res.remaining := CASE WHEN v_failed = 0 THEN v_room END;
        RETURN NEXT res;
    END LOOP;
END
$$;

-- quota_settle releases what requests hold and posts what they used (see
-- 0002), now reading the holds from quota_admissions.
CREATE OR REPLACE FUNCTION quota_settle(p_tenants text[], p_requests uuid[], p_costs bigint[], p_tokens bigint[])
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p quota_posting;
    v_after bigint;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR d IN
        WITH released AS (
            DELETE FROM quota_admissions a
            USING unnest(p_tenants, p_requests, p_costs, p_tokens) AS s(t, r, cost, tok)
            WHERE a.tenant_id = s.t AND a.request_id = s.r
            RETURNING a.tenant_id, a.kinds, a.scopes, a.scope_ids, a.buckets, a.amounts, s.cost, s.tok
        ), lines AS (
            SELECT r.tenant_id, l.kind, l.scope, l.scope_id, l.bucket, l.amount, r.cost, r.tok
            FROM released r, unnest(r.kinds, r.scopes, r.scope_ids, r.buckets, r.amounts) AS l(kind, scope, scope_id, bucket, amount)
        )
        SELECT l.tenant_id, l.kind, l.scope, l.scope_id, l.bucket,
               sum(CASE WHEN l.kind = 'budget' THEN -l.amount ELSE 0 END) AS d_reserved,
               sum(CASE l.kind
                       WHEN 'budget' THEN CASE WHEN l.cost < 0 THEN l.amount ELSE l.cost END
                       WHEN 'tokens' THEN CASE WHEN l.tok < 0 THEN 0 ELSE l.tok - l.amount END
                       WHEN 'concurrency' THEN -1
                       ELSE 0 END) AS d_used
        FROM lines l
        GROUP BY l.tenant_id, l.kind, l.scope, l.scope_id, l.bucket
        ORDER BY l.tenant_id, l.kind, l.scope, l.scope_id, l.bucket
    LOOP
        UPDATE quota_counters c
        SET reserved = greatest(c.reserved + d.d_reserved, 0), used = greatest(c.used + d.d_used, 0)
        WHERE c.tenant_id = d.tenant_id AND c.kind = d.kind AND c.scope = d.scope AND c.scope_id = d.scope_id AND c.bucket = d.bucket
        RETURNING c.used INTO v_after;
        IF d.kind = 'budget' THEN
            p := ROW(d.tenant_id, d.scope, d.scope_id, d.bucket, v_after - d.d_used, v_after);
            RETURN NEXT p;
        END IF;
    END LOOP;
END
$$;

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

DROP FUNCTION quota_admit(text, uuid, timestamptz, timestamptz, text[], text[], text[], timestamptz[], bigint[], bigint[], boolean[]);
DROP TYPE quota_admission;
DROP TABLE quota_holds;
