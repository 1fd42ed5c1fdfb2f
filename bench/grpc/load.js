// k6 load for the gRPC benchmark. Environment: ADDR, CASE (unary|stream),
// PROTO_DIR, ITEM (JSON), STREAM_COUNT, VUS, DURATION, OUT (summary path).
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load([__ENV.PROTO_DIR], 'benchpb/v1/bench.proto');

const item = JSON.parse(__ENV.ITEM);
const streamCount = parseInt(__ENV.STREAM_COUNT || '100', 10);

export const options = {
  vus: parseInt(__ENV.VUS || '50', 10),
  duration: __ENV.DURATION || '10s',
  summaryTrendStats: ['med', 'p(99)', 'count'],
};

export default function () {
  if (__ITER === 0) {
    client.connect(__ENV.ADDR, { plaintext: true });
  }
  if (__ENV.CASE === 'unary') {
    const res = client.invoke('benchpb.v1.BenchService/Echo', item);
    check(res, { ok: (r) => r && r.status === grpc.StatusOK && r.message.id === item.id });
    return;
  }
  let received = 0;
  const stream = new grpc.Stream(client, 'benchpb.v1.BenchService/Stream');
  stream.on('data', () => {
    received += 1;
  });
  stream.on('end', () => {
    check(received, { 'all items': (n) => n === streamCount });
  });
  stream.write({ item: item, count: streamCount });
  stream.end();
}

export function handleSummary(data) {
  return { [__ENV.OUT]: JSON.stringify(data) };
}
