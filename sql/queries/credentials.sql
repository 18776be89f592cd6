-- name: InsertProviderCredential :exec
INSERT INTO provider_credentials (tenant_id, provider_id, sealed, created_at)
VALUES (@tenant_id, @provider_id, @sealed, @created_at);

-- name: GetProviderCredential :one
SELECT sealed FROM provider_credentials
WHERE tenant_id = @tenant_id AND provider_id = @provider_id;

-- name: ReplaceProviderCredential :execrows
UPDATE provider_credentials SET sealed = @sealed, created_at = @created_at
WHERE tenant_id = @tenant_id AND provider_id = @provider_id;
