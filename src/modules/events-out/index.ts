// Outgoing events on RabbitMQ (AMQP_URL): the outbox relay publishes through this module's publisher.
export {
  createAmqpPublisher,
  EXCHANGE,
  type AmqpPublisher,
  type AmqpPublisherOptions,
  type OutgoingEvent,
} from './rabbitmq.ts';
