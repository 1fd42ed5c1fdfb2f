// Validate prometheus-operator resources (read as a JSON array on stdin)
// against the CRDs' schemas, as shipped by @kubernetes-models/prometheus-operator.
// Prints one line per resource: "ok <kind>/<name>" or "invalid <kind>/<name>: <errors>".
// Exits 1 when any is invalid or of a kind it does not know.
import { readFileSync } from "node:fs";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const kinds = { PrometheusRule, ServiceMonitor };
let failed = false;
for (const doc of JSON.parse(readFileSync(0, "utf8"))) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const Model = doc.apiVersion === "monitoring.coreos.com/v1" ? kinds[doc.kind] : undefined;
  if (!Model) {
    console.log(`invalid ${name}: no schema for ${doc.apiVersion} ${doc.kind}`);
    failed = true;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok ${name}`);
  } catch (error) {
    console.log(`invalid ${name}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
