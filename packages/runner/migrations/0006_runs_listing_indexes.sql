DROP INDEX "podline"."runs_pipeline_created_idx";--> statement-breakpoint
CREATE INDEX "runs_created_idx" ON "podline"."runs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "runs_state_created_idx" ON "podline"."runs" USING btree ("state","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_pipeline_state_created_idx" ON "podline"."runs" USING btree ("pipeline","state","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_pipeline_created_idx" ON "podline"."runs" USING btree ("pipeline","created_at","id");