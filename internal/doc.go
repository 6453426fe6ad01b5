// Package internal holds helpers that users of keyedcache never import,
// such as the test servers that later backends start on loopback.
package internal
