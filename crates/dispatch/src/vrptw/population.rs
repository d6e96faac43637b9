//! The population of the genetic search: a feasible and an infeasible subpopulation, each ranked by biased
//! fitness (cost rank plus diversity rank, Vidal et al. 2012), with survivor selection and binary tournaments.

use rand::Rng;

use super::individual::Individual;
use super::instance::Penalties;

/// Sizes and thresholds of the population.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PopulationParams {
    /// Size each subpopulation is cut back to.
    pub min_size: usize,
    /// How many individuals a subpopulation grows by before it is cut back.
    pub generation: usize,
    /// How many of the best individuals the fitness protects from the diversity term.
    pub elite: usize,
    /// How many nearest individuals an individual's diversity is measured against.
    pub close: usize,
    /// Least broken-pairs distance wanted between two parents.
    pub lb_diversity: f64,
    /// Most broken-pairs distance wanted between two parents.
    pub ub_diversity: f64,
}

/// One subpopulation with its pairwise distances.
#[derive(Debug, Default)]
struct SubPopulation {
    /// The members.
    members: Vec<Individual>,
    /// `distance[i][j]`: broken-pairs distance between members `i` and `j`.
    distance: Vec<Vec<f64>>,
    /// Per member: its biased fitness (lower is better), valid after `update_fitness`.
    fitness: Vec<f64>,
}

impl SubPopulation {
    fn add(&mut self, individual: Individual, clients: &[usize]) {
        let row: Vec<f64> = self
            .members
            .iter()
            .map(|m| individual.broken_pairs(m, clients))
            .collect();
        for (d, r) in self.distance.iter_mut().zip(&row) {
            d.push(*r);
        }
        let mut row = row;
        row.push(0.0);
        self.distance.push(row);
        self.members.push(individual);
        self.fitness.push(0.0);
    }

    fn remove(&mut self, i: usize) {
        self.members.swap_remove(i);
        self.distance.swap_remove(i);
        for d in &mut self.distance {
            d.swap_remove(i);
        }
        self.fitness.swap_remove(i);
    }

    /// Average distance to the `close` nearest other members.
    fn diversity(&self, i: usize, close: usize) -> f64 {
        let mut d: Vec<f64> = (0..self.members.len())
            .filter(|&j| j != i)
            .map(|j| self.distance[i][j])
            .collect();
        if d.is_empty() {
            return 0.0;
        }
        let k = close.clamp(1, d.len());
        if k < d.len() {
            d.select_nth_unstable_by(k - 1, f64::total_cmp);
        }
        d[..k].iter().sum::<f64>() / k as f64
    }

    fn update_fitness(&mut self, pen: Penalties, params: &PopulationParams) {
        let n = self.members.len();
        if n <= 1 {
            self.fitness.fill(0.0);
            return;
        }
        let mut by_cost: Vec<usize> = (0..n).collect();
        by_cost.sort_by_key(|&i| (self.members[i].penalised(pen), i));
        let diversity: Vec<f64> = (0..n).map(|i| self.diversity(i, params.close)).collect();
        let mut by_diversity: Vec<usize> = (0..n).collect();
        by_diversity.sort_by(|&a, &b| diversity[b].total_cmp(&diversity[a]).then(a.cmp(&b)));
        let mut div_rank = vec![0.0; n];
        for (rank, &i) in by_diversity.iter().enumerate() {
            div_rank[i] = rank as f64 / (n - 1) as f64;
        }
        let elite_weight = 1.0 - (params.elite.min(n) as f64) / n as f64;
        for (rank, &i) in by_cost.iter().enumerate() {
            self.fitness[i] = rank as f64 / (n - 1) as f64 + elite_weight * div_rank[i];
        }
    }

    /// Cuts the subpopulation back to `min_size`: clones first, then the worst biased fitness.
    fn survivors(&mut self, pen: Penalties, params: &PopulationParams) {
        while self.members.len() > params.min_size {
            let n = self.members.len();
            let clone = (0..n).find(|&i| (0..i).any(|j| self.distance[i][j] <= f64::EPSILON));
            let victim = match clone {
                Some(i) => i,
                None => {
                    self.update_fitness(pen, params);
                    (0..n)
                        .max_by(|&a, &b| self.fitness[a].total_cmp(&self.fitness[b]))
                        .unwrap_or(0)
                }
            };
            self.remove(victim);
        }
    }
}

/// Feasible and infeasible individuals.
#[derive(Debug)]
pub(crate) struct Population {
    params: PopulationParams,
    feasible: SubPopulation,
    infeasible: SubPopulation,
}

impl Population {
    pub fn new(params: PopulationParams) -> Self {
        Self {
            params,
            feasible: SubPopulation::default(),
            infeasible: SubPopulation::default(),
        }
    }

    /// Number of individuals.
    pub fn len(&self) -> usize {
        self.feasible.members.len() + self.infeasible.members.len()
    }

    /// Removes everyone (a restart).
    pub fn clear(&mut self) {
        self.feasible = SubPopulation::default();
        self.infeasible = SubPopulation::default();
    }

    /// Adds `individual` to its subpopulation, cutting it back when it has grown by a generation.
    pub fn add(&mut self, individual: Individual, clients: &[usize], pen: Penalties) {
        let sub = if individual.is_feasible() {
            &mut self.feasible
        } else {
            &mut self.infeasible
        };
        sub.add(individual, clients);
        if sub.members.len() > self.params.min_size + self.params.generation {
            sub.survivors(pen, &self.params);
        }
    }

    /// Two parents by binary tournaments, the second retried (up to ten times) until its distance to the first is
    /// within the wanted diversity.
    pub fn parents<R: Rng>(
        &mut self,
        pen: Penalties,
        clients: &[usize],
        rng: &mut R,
    ) -> Option<(&Individual, &Individual)> {
        if self.len() == 0 {
            return None;
        }
        self.feasible.update_fitness(pen, &self.params);
        self.infeasible.update_fitness(pen, &self.params);
        let first = self.tournament(rng);
        let mut second = self.tournament(rng);
        for _ in 0..9 {
            let d = self.get(first).broken_pairs(self.get(second), clients);
            if (self.params.lb_diversity..=self.params.ub_diversity).contains(&d) {
                break;
            }
            second = self.tournament(rng);
        }
        Some((self.get(first), self.get(second)))
    }

    fn get(&self, i: usize) -> &Individual {
        let f = self.feasible.members.len();
        if i < f {
            &self.feasible.members[i]
        } else {
            &self.infeasible.members[i - f]
        }
    }

    fn fitness(&self, i: usize) -> f64 {
        let f = self.feasible.members.len();
        if i < f {
            self.feasible.fitness[i]
        } else {
            self.infeasible.fitness[i - f]
        }
    }

    fn tournament<R: Rng>(&self, rng: &mut R) -> usize {
        let a = rng.random_range(0..self.len());
        let b = rng.random_range(0..self.len());
        if self.fitness(b) < self.fitness(a) {
            b
        } else {
            a
        }
    }
}
