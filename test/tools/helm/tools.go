// Package helm pins the upstream helm command (helm.sh/helm/v3/cmd/helm) so the test harness can build
// it with the machine's Go; test/harness/go-tools.ts builds that package from this module.
package helm

import _ "helm.sh/helm/v3/pkg/action"
