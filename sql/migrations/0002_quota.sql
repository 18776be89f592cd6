-- Budgets and rate limits: shared counters that admissions reserve against
-- and settlements correct, across replicas. See docs/governance.md.

CREATE TABLE quota_counters (
    tenant_id text        NOT NULL,
    kind      text        NOT NULL, -- budget | concurrency | requests | tokens
    scope     text        NOT NULL, -- tenant | team | key
    scope_id  text        NOT NULL,
    bucket    timestamptz NOT NULL, -- budget window start, the minute, or the epoch (concurrency)
    used      bigint      NOT NULL DEFAULT 0, -- spent micro-dollars, requests, tokens, in flight
    reserved  bigint      NOT NULL DEFAULT 0, -- budgets: micro-dollars reserved by admitted requests
    PRIMARY KEY (tenant_id, kind, scope, scope_id, bucket)
);

-- What an admitted request holds until it is settled. A hold whose request
-- never settles (its replica died) expires and is posted at its amount.
CREATE TABLE quota_holds (
    tenant_id  text        NOT NULL,
    request_id uuid        NOT NULL,
    line       smallint    NOT NULL,
    kind       text        NOT NULL,
    scope      text        NOT NULL,
    scope_id   text        NOT NULL,
    bucket     timestamptz NOT NULL,
    amount     bigint      NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, request_id, line)
);
CREATE INDEX quota_holds_expiry ON quota_holds (expires_at);

-- quota_admit checks and moves every line of one request in one call, in
-- the order given (the callers sort lines the same way everywhere, so
-- concurrent admissions and settlements lock counters in one order). It
-- returns refused_line = 0 and each line's remaining room, or the 1-based
-- line that did not fit, having changed nothing.
-- The rows the quota functions return (named types, so that the queries
-- that call them are typed).
CREATE TYPE quota_admission AS (refused_line integer, remaining bigint[]);
CREATE TYPE quota_posting AS (tenant_id text, scope text, scope_id text, bucket timestamptz, used_before bigint, used_after bigint);

CREATE FUNCTION quota_admit(
    p_tenant text, p_request uuid, p_now timestamptz, p_expires timestamptz,
    p_kinds text[], p_scopes text[], p_ids text[], p_buckets timestamptz[],
    p_limits bigint[], p_amounts bigint[], p_hards boolean[]
) RETURNS SETOF quota_admission
LANGUAGE plpgsql AS $$
DECLARE
    r quota_admission;
    n integer := coalesce(array_length(p_kinds, 1), 0);
    v_failed integer := 0;
    v_used bigint;
    v_reserved bigint;
    v_prev bigint;
    v_weight double precision;
    v_room bigint[] := '{}';
BEGIN
    BEGIN
        FOR i IN 1..n LOOP
            INSERT INTO quota_counters (tenant_id, kind, scope, scope_id, bucket)
            VALUES (p_tenant, p_kinds[i], p_scopes[i], p_ids[i], p_buckets[i])
            ON CONFLICT DO NOTHING;
            IF p_kinds[i] = 'budget' THEN
                UPDATE quota_counters SET reserved = reserved + p_amounts[i]
                WHERE tenant_id = p_tenant AND kind = 'budget' AND scope = p_scopes[i] AND scope_id = p_ids[i] AND bucket = p_buckets[i]
                  AND (NOT p_hards[i] OR used + reserved + p_amounts[i] <= p_limits[i])
                RETURNING used, reserved INTO v_used, v_reserved;
                IF NOT FOUND THEN
                    v_failed := i;
                    RAISE EXCEPTION USING ERRCODE = 'GH429';
                END IF;
                v_room := v_room || (p_limits[i] - v_used - v_reserved);
            ELSIF p_kinds[i] IN ('requests', 'tokens') THEN
                -- A sliding minute: the previous minute counts in proportion
                -- to how much of it the window still covers.
                SELECT used INTO v_prev FROM quota_counters
                WHERE tenant_id = p_tenant AND kind = p_kinds[i] AND scope = p_scopes[i] AND scope_id = p_ids[i]
                  AND bucket = p_buckets[i] - interval '1 minute';
                v_weight := greatest(0, 1 - extract(epoch FROM (p_now - p_buckets[i])) / 60);
                v_prev := floor(coalesce(v_prev, 0) * v_weight);
                UPDATE quota_counters SET used = used + p_amounts[i]
                WHERE tenant_id = p_tenant AND kind = p_kinds[i] AND scope = p_scopes[i] AND scope_id = p_ids[i] AND bucket = p_buckets[i]
                  AND used + p_amounts[i] + v_prev <= p_limits[i]
                RETURNING used INTO v_used;
                IF NOT FOUND THEN
                    v_failed := i;
                    RAISE EXCEPTION USING ERRCODE = 'GH429';
                END IF;
                v_room := v_room || (p_limits[i] - v_used - v_prev);
            ELSE -- concurrency
                UPDATE quota_counters SET used = used + 1
                WHERE tenant_id = p_tenant AND kind = 'concurrency' AND scope = p_scopes[i] AND scope_id = p_ids[i] AND bucket = p_buckets[i]
                  AND used + 1 <= p_limits[i]
                RETURNING used INTO v_used;
                IF NOT FOUND THEN
                    v_failed := i;
                    RAISE EXCEPTION USING ERRCODE = 'GH429';
                END IF;
                v_room := v_room || (p_limits[i] - v_used);
            END IF;
            INSERT INTO quota_holds (tenant_id, request_id, line, kind, scope, scope_id, bucket, amount, expires_at)
            VALUES (p_tenant, p_request, i, p_kinds[i], p_scopes[i], p_ids[i], p_buckets[i], p_amounts[i], p_expires);
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'GH429' THEN
        -- The block's changes are undone; the variables keep their values.
        r.refused_line := v_failed;
        r.remaining := NULL;
        RETURN NEXT r;
        RETURN;
    END;
    r.refused_line := 0;
    r.remaining := v_room;
    RETURN NEXT r;
END
$$;

-- quota_settle releases what requests hold and posts what they used: a
-- budget's reservation becomes the actual cost, a minute's reserved tokens
-- the actual tokens, and a place in flight is given back. A cost or token
-- count below zero posts the reserved amount (for holds that expired).
-- Counters are changed in one order, aggregated per counter; a request
-- settled twice changes nothing the second time. It returns each budget
-- counter's spend before and after.
CREATE FUNCTION quota_settle(p_tenants text[], p_requests uuid[], p_costs bigint[], p_tokens bigint[])
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    p quota_posting;
    v_after bigint;
BEGIN
    FOR d IN
        WITH released AS (
            DELETE FROM quota_holds h
            USING unnest(p_tenants, p_requests, p_costs, p_tokens) AS s(t, r, cost, tok)
            WHERE h.tenant_id = s.t AND h.request_id = s.r
            RETURNING h.tenant_id, h.kind, h.scope, h.scope_id, h.bucket, h.amount, s.cost, s.tok
        )
        SELECT r.tenant_id, r.kind, r.scope, r.scope_id, r.bucket,
               sum(CASE WHEN r.kind = 'budget' THEN -r.amount ELSE 0 END) AS d_reserved,
               sum(CASE r.kind
                       WHEN 'budget' THEN CASE WHEN r.cost < 0 THEN r.amount ELSE r.cost END
                       WHEN 'tokens' THEN CASE WHEN r.tok < 0 THEN 0 ELSE r.tok - r.amount END
                       WHEN 'concurrency' THEN -1
                       ELSE 0 END) AS d_used
        FROM released r
        GROUP BY r.tenant_id, r.kind, r.scope, r.scope_id, r.bucket
        ORDER BY r.tenant_id, r.kind, r.scope, r.scope_id, r.bucket
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

-- quota_expire settles the requests whose holds have expired, at their
-- reserved amounts: a reservation is posted, never voided.
CREATE FUNCTION quota_expire(p_now timestamptz, p_max integer)
RETURNS SETOF quota_posting
LANGUAGE plpgsql AS $$
DECLARE
    v_tenants text[];
    v_requests uuid[];
BEGIN
    SELECT array_agg(x.tenant_id), array_agg(x.request_id) INTO v_tenants, v_requests
    FROM (
        SELECT DISTINCT h.tenant_id, h.request_id FROM quota_holds h
        WHERE h.expires_at < p_now
        LIMIT p_max
    ) x;
    IF v_tenants IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM quota_settle(v_tenants, v_requests,
        array_fill(-1::bigint, ARRAY[array_length(v_tenants, 1)]),
        array_fill(-1::bigint, ARRAY[array_length(v_tenants, 1)]));
END
$$;
