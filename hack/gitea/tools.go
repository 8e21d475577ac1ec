//go:build tools

// Package tools pins the Gitea command so `go mod tidy` keeps its dependencies.
package tools

import _ "code.gitea.io/gitea"
