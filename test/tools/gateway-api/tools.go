// Package gatewayapi pins the Gateway API release whose CRDs (config/crd/standard in the module) the
// test cluster installs; go.sum makes the download checksum-verified.
package gatewayapi

import _ "sigs.k8s.io/gateway-api/apis/v1"
