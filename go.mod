module github.com/edgehog/edgehog

go 1.26.8
