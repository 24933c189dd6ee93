// Package repo holds no code, only tests of the repository itself, so that
// a clone stays followable on its own (issue 16): the package map of
// docs/conventions.md covers every package and every import goes down its
// layers; every package has its package comment in doc.go; and every
// reference in code and docs points inside the repository (docs/spec.md
// sections, docs/conventions.md habits, docs/seeds files, paths that
// exist), never to a folder beside the checkout.
package repo
