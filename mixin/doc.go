// Package mixin will give model types that embed its helper
// CacheKey, CacheGet, CacheSet, CacheDelete and IsCached under
// Type::ID. It is empty until that work lands; see the project README.
package mixin
