import { Counter, register } from 'prom-client';

function counter(name: string, help: string): Counter {
  return (
    (register.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help })
  );
}

/** Cluster counters, in prom-client's default registry (exposed at `GET /metrics`). */
export const clusterMetrics = {
  invalidPubSubMessages: counter(
    'chat_pubsub_invalid_messages_total',
    'Messages on the cluster channel that were not valid deliveries (ignored)',
  ),
  publishFailures: counter(
    'chat_pubsub_publish_failures_total',
    'Deliveries that could not be published to other nodes (Redis unavailable)',
  ),
  localFallbacks: counter(
    'chat_redis_local_fallbacks_total',
    "Cluster-state operations answered from this node's own connections because Redis failed",
  ),
  reapedConnections: counter(
    'chat_reaped_connections_total',
    'Connections of dead nodes removed from the cluster presence',
  ),
};
