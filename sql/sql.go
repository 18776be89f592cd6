// Package schema carries the SQL that defines gatehouse's storage: numbered,
// forward-only migrations (applied by gatehouse migrate and at serve start)
// and the queries sqlc turns into typed Go under adapters/postgres/db.
package schema

import "embed"

// Migrations holds migrations/NNNN_name.sql, applied in order.
//
//go:embed migrations/*.sql
var Migrations embed.FS
