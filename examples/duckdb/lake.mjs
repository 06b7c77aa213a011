// Land skill6pub's events in a data lake and answer two questions with
// DuckDB (npm @duckdb/node-api, which ships its engine):
//
// 1. read the events topic with kafkajs into newline-delimited JSON files
//    (the landing zone a Kafka Connect sink or a small consumer writes);
// 2. keep one copy of each event_id, and of each DNIS and window the latest
//    revision (a dnis_gone of a revision removes the DNIS from its window),
//    and write the DNIS rows to Parquet partitioned by the window's date;
// 3. from the Parquet files: the service level within 20 s by hour and
//    skill (weighted by inbound calls), and the repeat callers per day and
//    skill (DNIS seen in two or more windows of the day).
//
// Hours and days are the operation's local time, the wall clock that
// window_start carries with its offset. Environment: KAFKA_BROKERS,
// KAFKA_TOPIC (default wolkvox.skill6.dnis-service-level), LAKE_DIR (default
// ./lake).
//
//   npm install kafkajs @duckdb/node-api && node lake.mjs
import fs from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { DuckDBInstance } from "@duckdb/node-api";

const brokers = process.env.KAFKA_BROKERS.split(",");
const topic = process.env.KAFKA_TOPIC ?? "wolkvox.skill6.dnis-service-level";
const lake = path.resolve(process.env.LAKE_DIR ?? "lake");
const landing = path.join(lake, "landing");
fs.mkdirSync(landing, { recursive: true });

// 1. Landing: one file per partition, every record as it is.
const kafka = new Kafka({ clientId: "skill6pub-recipe-lake", brokers, logLevel: logLevel.WARN });
const admin = kafka.admin();
await admin.connect();
const left = new Map();
for (const p of await admin.fetchTopicOffsets(topic)) {
  if (Number(p.high) > Number(p.low)) left.set(p.partition, Number(p.high) - 1);
}
await admin.disconnect();
const files = new Map();
const consumer = kafka.consumer({ groupId: `skill6pub-recipe-lake-${process.pid}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise((resolve, reject) => {
  if (left.size === 0) resolve();
  consumer
    .run({
      eachMessage: async ({ partition, message }) => {
        if (!files.has(partition)) files.set(partition, fs.openSync(path.join(landing, `${topic}-${partition}.ndjson`), "w"));
        fs.writeSync(files.get(partition), message.value.toString() + "\n");
        if (Number(message.offset) >= (left.get(partition) ?? Infinity)) left.delete(partition);
        if (left.size === 0) resolve();
      },
    })
    .catch(reject);
});
await consumer.disconnect();
for (const fd of files.values()) fs.closeSync(fd);

// 2. Parquet, partitioned by the window's date.
const db = await (await DuckDBInstance.create(":memory:")).connect();
const parquet = path.join(lake, "dnis_window");
await db.run(`
  CREATE TABLE events AS
  SELECT * FROM read_json('${landing}/*.ndjson', format = 'newline_delimited', columns = {
    event_id: 'VARCHAR', event_type: 'VARCHAR', operation: 'VARCHAR', skill_id: 'VARCHAR', dnis: 'VARCHAR',
    window_start: 'VARCHAR', revision: 'INTEGER',
    metrics: 'STRUCT(inbound_calls BIGINT, answer_calls BIGINT, abandon_calls BIGINT, service_level_20s_pct DOUBLE, abandon_pct DOUBLE, asa_seconds DOUBLE)'
  })
  QUALIFY row_number() OVER (PARTITION BY event_id) = 1`);
await db.run(`
  COPY (
    SELECT operation, skill_id, dnis, revision,
           strptime(substr(window_start, 1, 19), '%Y-%m-%dT%H:%M:%S') AS window_local,
           CAST(window_local AS DATE) AS window_date,
           metrics.inbound_calls AS inbound_calls, metrics.service_level_20s_pct AS service_level_20s_pct,
           metrics.abandon_pct AS abandon_pct, metrics.asa_seconds AS asa_seconds
    FROM events
    WHERE event_type IN ('dnis_window', 'dnis_gone')
    QUALIFY row_number() OVER (PARTITION BY operation, skill_id, dnis, window_start ORDER BY revision DESC) = 1
        AND event_type = 'dnis_window'
  ) TO '${parquet}' (FORMAT parquet, PARTITION_BY (window_date), OVERWRITE_OR_IGNORE true)`);
const partitions = fs.readdirSync(parquet).filter((d) => d.startsWith("window_date=")).sort();
console.log(`parquet partitions: ${partitions.join(" ")}`);

// 3. The questions, from the Parquet files. The service level is summed in
// whole hundredths and rounded half up, so that every tool gets the same
// digits.
const rows = `read_parquet('${parquet}/*/*.parquet', hive_partitioning = true)`;
const print = async (title, sql) => {
  console.log(title);
  for (const r of (await db.runAndReadAll(sql)).getRows()) console.log(r.join(" "));
};
await print(
  "service level (20 s) by hour and skill:",
  `SELECT skill_id, hour, CASE WHEN den > 0 THEN printf('%d.%02d', h // 100, h % 100) ELSE '-' END
   FROM (SELECT skill_id, hour, den, CAST((2 * num + den) // (2 * den) AS BIGINT) AS h
         FROM (SELECT skill_id, strftime(date_trunc('hour', window_local), '%Y-%m-%d %H:00') AS hour,
                      sum(CAST(round(service_level_20s_pct * 100) AS BIGINT) * inbound_calls) FILTER (service_level_20s_pct IS NOT NULL AND inbound_calls > 0) AS num,
                      sum(inbound_calls) FILTER (service_level_20s_pct IS NOT NULL AND inbound_calls > 0) AS den
               FROM ${rows} GROUP BY ALL))
   ORDER BY skill_id, hour`,
);
await print(
  "repeat callers per day and skill:",
  `SELECT skill_id, CAST(window_date AS VARCHAR), count(*) FILTER (windows >= 2)
   FROM (SELECT skill_id, window_date, dnis, count(DISTINCT window_local) AS windows FROM ${rows} GROUP BY ALL)
   GROUP BY ALL ORDER BY ALL`,
);
