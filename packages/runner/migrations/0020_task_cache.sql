CREATE TABLE "podline"."task_cache" (
	"pipeline" text NOT NULL,
	"task" text NOT NULL,
	"key" text NOT NULL,
	"value" jsonb NOT NULL,
	"size" integer NOT NULL,
	"run_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	CONSTRAINT "task_cache_pipeline_task_key_pk" PRIMARY KEY("pipeline","task","key")
);
--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "no_cache" boolean;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "cached_from" uuid;--> statement-breakpoint
CREATE INDEX "task_cache_expires_idx" ON "podline"."task_cache" USING btree ("expires_at") WHERE expires_at is not null;--> statement-breakpoint
CREATE INDEX "task_cache_reference_key_idx" ON "podline"."task_cache" USING btree (("value" -> '$podline' ->> 'key')) WHERE "podline"."task_cache"."value" ? '$podline';--> statement-breakpoint
CREATE INDEX "asset_events_reference_key_idx" ON "podline"."asset_events" USING btree (("value" -> '$podline' ->> 'key')) WHERE "podline"."asset_events"."value" ? '$podline';--> statement-breakpoint
CREATE INDEX "xcoms_reference_key_idx" ON "podline"."xcoms" USING btree (("value" -> '$podline' ->> 'key')) WHERE "podline"."xcoms"."value" ? '$podline';