// Package e2etest holds what the end-to-end tests of the real binary share
// (cmd/hikyaku's e2e tests and test/browser): a buffer a child process
// writes while the test reads it, and the graceful stop of a server.
// Only tests import it.
package e2etest
