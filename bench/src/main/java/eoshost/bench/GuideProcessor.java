package eoshost.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The exactly-once processor of the guide the project started from, in its
 * shape: a read_committed consumer and a transactional producer; every
 * non-empty poll() is one transaction holding that poll's outputs and the
 * consumer offsets after them; on an error the transaction is aborted and the
 * consumer seeks back to the committed offsets. Its poll timeout (100 ms) is
 * the guide's and doubles as its commit interval when input is sparse; with a
 * backlog it commits once per poll (up to max.poll.records = 500 records).
 * Two changes to the guide, both for the measurement: byte arrays instead of
 * strings, and the output keeps the input's timestamp and headers (the
 * latency is measured from the input's produce timestamp).
 */
final class GuideProcessor {
    private GuideProcessor() {}

    static void run(Args args) {
        String output = args.get("output");
        var consumerConfig = Clients.consumer(args.get("bootstrap"));
        consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, args.get("group"));
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        var producerConfig = Clients.producer(args.get("bootstrap"));
        producerConfig.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args.get("group") + "-processor");
        Duration pollTimeout = Duration.ofMillis(args.getLong("commit-ms", 100));

        var consumer = new KafkaConsumer<byte[], byte[]>(consumerConfig);
        var producer = new KafkaProducer<byte[], byte[]>(producerConfig);
        var shutdown = new Shutdown(consumer);
        producer.initTransactions();
        consumer.subscribe(List.of(args.get("input")));
        try {
            while (!shutdown.requested()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
                if (records.isEmpty()) {
                    continue;
                }
                producer.beginTransaction();
                try {
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        producer.send(new ProducerRecord<>(output, null, record.timestamp(), record.key(),
                                record.value(), record.headers()));
                    }
                    producer.sendOffsetsToTransaction(nextOffsets(records), consumer.groupMetadata());
                    producer.commitTransaction();
                } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException fatal) {
                    throw fatal;
                } catch (KafkaException e) {
                    System.err.println("eos-processor: transaction aborted: " + e.getMessage());
                    producer.abortTransaction();
                    rewind(consumer);
                }
            }
        } catch (WakeupException e) {
            // SIGTERM while polling: nothing is open, so nothing to abort.
        } finally {
            producer.close(Duration.ofSeconds(5));
            consumer.close(Duration.ofSeconds(5));
            shutdown.closed();
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<byte[], byte[]> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> inPartition = records.records(partition);
            offsets.put(partition, new OffsetAndMetadata(inPartition.get(inPartition.size() - 1).offset() + 1));
        }
        return offsets;
    }

    private static void rewind(KafkaConsumer<byte[], byte[]> consumer) {
        Set<TopicPartition> assigned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned);
        for (TopicPartition partition : assigned) {
            OffsetAndMetadata offset = committed.get(partition);
            if (offset != null) {
                consumer.seek(partition, offset.offset());
            } else {
                consumer.seekToBeginning(List.of(partition));
            }
        }
    }
}
