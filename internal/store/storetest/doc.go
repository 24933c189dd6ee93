// Package storetest gives tests outside internal/store fresh, empty status
// stores of each engine: SQLite always, MySQL/MariaDB when
// HIKYAKU_TEST_MYSQL_DSN names a server (a database of its own per test,
// dropped afterwards).
package storetest
