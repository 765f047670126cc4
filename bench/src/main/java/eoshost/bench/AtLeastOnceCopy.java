package eoshost.bench;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The plain at-least-once copy: consume, produce each record, and every
 * --commit-ms (100 ms) flush the producer and then commit the offsets of
 * what was flushed. Nothing is lost (an offset is committed only after its
 * output is acknowledged); a crash may write some outputs twice. This is what
 * exactly-once is weighed against: the same work without transactions.
 */
final class AtLeastOnceCopy {
    private AtLeastOnceCopy() {}

    static void run(Args args) {
        String output = args.get("output");
        long commitNanos = Duration.ofMillis(args.getLong("commit-ms", 100)).toNanos();
        var consumerConfig = Clients.consumer(args.get("bootstrap"));
        consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, args.get("group"));
        var consumer = new KafkaConsumer<byte[], byte[]>(consumerConfig);
        var producer = new KafkaProducer<byte[], byte[]>(Clients.producer(args.get("bootstrap")));
        var shutdown = new Shutdown(consumer);
        Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();

        consumer.subscribe(List.of(args.get("input")), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                commit(producer, consumer, pending, true);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
        });
        long lastCommit = System.nanoTime();
        try {
            while (!shutdown.requested()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    producer.send(new ProducerRecord<>(output, null, record.timestamp(), record.key(),
                            record.value(), record.headers()));
                    pending.put(new TopicPartition(record.topic(), record.partition()),
                            new OffsetAndMetadata(record.offset() + 1));
                }
                if (System.nanoTime() - lastCommit >= commitNanos) {
                    commit(producer, consumer, pending, false);
                    lastCommit = System.nanoTime();
                }
            }
        } catch (WakeupException e) {
            // SIGTERM while polling: commit what was copied, below.
        } finally {
            try {
                commit(producer, consumer, pending, true);
            } catch (WakeupException late) {
                // The wake-up arrived after the loop saw the request; it is used up now.
                commit(producer, consumer, pending, true);
            }
            producer.close(Duration.ofSeconds(5));
            consumer.close(Duration.ofSeconds(5));
            shutdown.closed();
        }
    }

    /** Flush first: an offset may be committed only once its output is acknowledged. */
    private static void commit(KafkaProducer<byte[], byte[]> producer, KafkaConsumer<byte[], byte[]> consumer,
            Map<TopicPartition, OffsetAndMetadata> pending, boolean wait) {
        if (pending.isEmpty()) {
            return;
        }
        producer.flush();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(pending);
        pending.clear();
        if (wait) {
            consumer.commitSync(offsets);
        } else {
            consumer.commitAsync(offsets, (committed, error) -> {
                if (error != null) {
                    System.err.println("alo-copy: offset commit failed (the records will be copied again): " + error);
                }
            });
        }
    }
}
