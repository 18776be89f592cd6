-- name: InsertProviderCredential :exec
INSERT INTO provider_credentials (tenant_id, provider_id, sealed, created_at)
VALUES (@tenant_id, @provider_id, @sealed, @created_at);

-- name: GetProviderCredential :one
SELECT sealed FROM provider_credentials
WHERE tenant_id = @tenant_id AND provider_id = @provider_id;
