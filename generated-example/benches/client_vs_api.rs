//! The generated client against `kube::Api` for the same requests to the in-memory API
//! server: 10,000 gets and 1,000 lists of 100 objects each, interleaved rounds, medians.
//! `cargo bench -p generated-example --bench client_vs_api`

use std::time::{Duration, Instant};

use generated_example::widgets::example::v1::{Widget, WidgetClient, WidgetSpec};
use kube_codegen_runtime::client::{ListParams, PostParams};
use kube_codegen_runtime::fake::ApiServer;

const ROUNDS: usize = 7;
const GETS: usize = 10_000;
const LISTS: usize = 1_000;
const OBJECTS: usize = 100;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = ApiServer::new();
        server.register::<Widget>();
        let typed = WidgetClient::new(server.client(), "bench");
        let api: kube::Api<Widget> = kube::Api::namespaced(server.client(), "bench");
        for i in 0..OBJECTS {
            let mut w = Widget::default();
            w.metadata.name = Some(format!("w-{i:03}"));
            w.spec = Some(WidgetSpec { replicas: Some(i as i32), ..Default::default() });
            typed.create(&PostParams::default(), &w).await.unwrap();
        }
        let (mut gets, mut api_gets, mut lists, mut api_lists) = (vec![], vec![], vec![], vec![]);
        let lp = ListParams::default();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for i in 0..GETS {
                std::hint::black_box(typed.get(&format!("w-{:03}", i % OBJECTS)).await.unwrap());
            }
            gets.push(start.elapsed());
            let start = Instant::now();
            for i in 0..GETS {
                std::hint::black_box(api.get(&format!("w-{:03}", i % OBJECTS)).await.unwrap());
            }
            api_gets.push(start.elapsed());
            let start = Instant::now();
            for _ in 0..LISTS {
                assert_eq!(std::hint::black_box(typed.list(&lp).await.unwrap()).items.len(), OBJECTS);
            }
            lists.push(start.elapsed());
            let start = Instant::now();
            for _ in 0..LISTS {
                assert_eq!(std::hint::black_box(api.list(&lp).await.unwrap()).items.len(), OBJECTS);
            }
            api_lists.push(start.elapsed());
        }
        let (g, ag, l, al) = (median(gets), median(api_gets), median(lists), median(api_lists));
        println!("{ROUNDS} interleaved rounds, medians");
        println!("| what | generated client | kube::Api | ratio |");
        println!("|---|---|---|---|");
        let row = |what: &str, a: Duration, b: Duration, n: usize| {
            println!(
                "| {what} | {:.1} ms ({:.0}/s) | {:.1} ms ({:.0}/s) | {:.3} |",
                a.as_secs_f64() * 1e3,
                n as f64 / a.as_secs_f64(),
                b.as_secs_f64() * 1e3,
                n as f64 / b.as_secs_f64(),
                a.as_secs_f64() / b.as_secs_f64()
            )
        };
        row(&format!("{GETS} gets"), g, ag, GETS);
        row(&format!("{LISTS} lists of {OBJECTS}"), l, al, LISTS);
    });
}
