// Package metrics owns hikyaku's Prometheus instruments. One Metrics value
// is built in main and handed to the parts that count things, so that tests
// can build their own registry and nothing registers itself globally.
package metrics
