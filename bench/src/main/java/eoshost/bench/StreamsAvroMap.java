package eoshost.bench;

import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroSerde;
import io.apicurio.registry.serde.config.IdOption;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams avro contender: input → mapValues(identity) → output
 * under exactly_once_v2 (the settings are {@link StreamsApp}'s), the values
 * read and written as Avro GenericRecords by Apicurio Registry's Avro serde
 * (2.4.2.Final, the registry scripts/schema-registry runs): each record
 * deserialised and serialised again, as an application that works on typed
 * orders does.
 *
 * The serde talks to Apicurio's own API (/apis/registry/v2, beside the
 * Confluent-compatible one --schema-registry names) and is set up to read
 * and write the Confluent wire format the loader writes and eoshost reads:
 *
 * - apicurio.registry.as-confluent=true: a 4-byte schema id after the magic
 *   byte (Apicurio's own framing has an 8-byte id);
 * - apicurio.registry.headers.enabled=false: the id in the value, not in
 *   record headers (the default is headers, which Kafka Streams passes);
 * - apicurio.registry.use-id=contentId: the id is Apicurio's content id,
 *   which is what its Confluent-compatible API serves as a schema's id (the
 *   default, the global id, is another number);
 * - apicurio.registry.auto-register=true: the output's schema registered
 *   under OUTPUT-value on first use, as Confluent's serializer does by
 *   default (the same schema, so the same content id as the input's).
 */
final class StreamsAvroMap {
    private StreamsAvroMap() {}

    static void run(Args args) throws Exception {
        AvroSerde<GenericRecord> values = new AvroSerde<>();
        values.configure(serdeConfig(args.get("schema-registry")), false);
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(args.get("input"), Consumed.with(Serdes.ByteArray(), values))
                .mapValues(value -> value)
                .to(args.get("output"), Produced.with(Serdes.ByteArray(), values));
        StreamsApp.run(args, builder);
    }

    /** The serde's settings for the registry whose Confluent-compatible API is at ccompatUrl. */
    static Map<String, Object> serdeConfig(String ccompatUrl) {
        return Map.of(
                SerdeConfig.REGISTRY_URL, apicurioUrl(ccompatUrl),
                SerdeConfig.ENABLE_CONFLUENT_ID_HANDLER, true,
                SerdeConfig.ENABLE_HEADERS, false,
                SerdeConfig.USE_ID, IdOption.contentId.name(),
                SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
    }

    /** Apicurio's own API beside its Confluent-compatible one: …/apis/ccompat/v7 → …/apis/registry/v2. */
    static String apicurioUrl(String ccompatUrl) {
        String base = ccompatUrl.replaceAll("/+$", "");
        int at = base.lastIndexOf("/apis/ccompat/");
        if (at < 0) {
            throw new Args.UsageException("--schema-registry must be Apicurio Registry's Confluent-compatible API "
                    + "(…/apis/ccompat/v7), not " + ccompatUrl);
        }
        return base.substring(0, at) + "/apis/registry/v2";
    }
}
