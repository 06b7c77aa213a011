// Fold skill6pub's table topic into the current per-DNIS table, with
// kafkajs: the last value of each key wins and a null value (a tombstone:
// the DNIS went) deletes the key, as a Kafka Streams KTable, a ksqlDB TABLE
// or an upsert sink does. The topic is compacted, so a new consumer reads
// little more than the table itself.
//
// It reads every partition from the start to the end it finds when it
// starts, then prints, for each skill, its latest window (from the
// window_closed under the key "{operation}:{skill_id}"), how many DNIS the
// table holds and their inbound calls. Environment: KAFKA_BROKERS,
// KAFKA_TABLE_TOPIC (default KAFKA_TOPIC + ".table"; KAFKA_TOPIC defaults
// to wolkvox.skill6.dnis-service-level).
//
//   npm install kafkajs && node table.mjs
import { Kafka, logLevel } from "kafkajs";

const brokers = process.env.KAFKA_BROKERS.split(",");
const topic = process.env.KAFKA_TABLE_TOPIC ?? (process.env.KAFKA_TOPIC ?? "wolkvox.skill6.dnis-service-level") + ".table";

const kafka = new Kafka({ clientId: "skill6pub-recipe-table", brokers, logLevel: logLevel.WARN });
const admin = kafka.admin();
await admin.connect();
// What is left to read: partition -> the offset of its last record.
const left = new Map();
for (const p of await admin.fetchTopicOffsets(topic)) {
  if (Number(p.high) > Number(p.low)) left.set(p.partition, Number(p.high) - 1);
}
await admin.disconnect();

const table = new Map(); // key -> the decoded value
const consumer = kafka.consumer({ groupId: `skill6pub-recipe-table-${process.pid}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise((resolve, reject) => {
  if (left.size === 0) resolve();
  consumer
    .run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key.toString();
        if (message.value === null) table.delete(key); // tombstone
        else table.set(key, JSON.parse(message.value.toString()));
        if (Number(message.offset) >= (left.get(partition) ?? Infinity)) left.delete(partition);
        if (left.size === 0) resolve();
      },
    })
    .catch(reject);
});
await consumer.disconnect();

// Per skill: its window_closed, and its DNIS rows.
const skills = new Map();
for (const [key, value] of table) {
  const skill = `${value.operation}:${value.skill_id}`;
  const s = skills.get(skill) ?? { closed: null, dnis: 0, inbound: 0 };
  if (value.event_type === "window_closed") s.closed = value;
  else {
    s.dnis += 1;
    s.inbound += value.metrics.inbound_calls ?? 0;
  }
  skills.set(skill, s);
}
for (const [, s] of [...skills].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
  console.log(`skill ${s.closed.skill_id} window ${s.closed.window_start} dnis ${s.dnis} inbound ${s.inbound}`);
}
