ALTER TABLE "podline"."runs" ADD COLUMN "concurrency_limit" integer;--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "concurrency_key" text;