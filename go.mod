module github.com/edgehog/edgehog

go 1.26.8

require (
	github.com/posthog/posthog-go v1.24.4
	golang.org/x/time v0.16.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/andybalholm/brotli v1.1.1 // indirect
	github.com/goccy/go-json v0.10.6 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/klauspost/compress v1.17.11 // indirect
	golang.org/x/sys v0.21.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)
