//! The demo's menu catalogue: cuisines, their categories and dishes with price ranges and option
//! groups, from which each demo restaurant's menu is drawn ([`menu_for`]).
//!
//! The catalogue is a table in the code rather than a data file: it is small, the compiler checks its
//! shape, and the tests check every menu it can produce against the server's limits (docs/merchants.md:
//! names 1 to 100 characters, prices 0 to 1,000,000 minor units, deltas 0 to 100,000, at most 10 option
//! groups per item and 30 options per group, `min <= max <= options`). Prices are US cents. No item has
//! availability hours: the server judges those by its own clock, which a fast demo runs ahead of.

use std::ops::Range;

use rand::Rng;
use rand::seq::SliceRandom;
use serde::Serialize;

/// A choice among options, as the menu document writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSpec {
    /// The group's name.
    pub name: &'static str,
    /// Fewest options chosen (above 0: the group is required).
    pub min: u32,
    /// Most options chosen.
    pub max: u32,
    /// Each option's name and price delta in cents.
    pub options: &'static [(&'static str, i64)],
}

/// A dish of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpec {
    /// Its name.
    pub name: &'static str,
    /// Its description.
    pub description: &'static str,
    /// Its price range in cents, inclusive at both ends: each restaurant's price is drawn from it.
    pub price: (i64, i64),
    /// Its option groups.
    pub groups: &'static [GroupSpec],
}

/// A category of a cuisine's menus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySpec {
    /// Its name.
    pub name: &'static str,
    /// Its dishes; a restaurant keeps at least [`KEEP_SHARE`] of them.
    pub items: &'static [ItemSpec],
}

/// One cuisine: the restaurants of this kind, how long their kitchens take, their menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuisineSpec {
    /// Its cuisine tags (the first is the main one), as the server takes them.
    pub tags: &'static [&'static str],
    /// Restaurant names of this cuisine.
    pub names: &'static [&'static str],
    /// A kitchen's preparation time in simulated minutes: each order's is drawn from this range.
    pub prep_minutes: Range<u32>,
    /// Its menu.
    pub categories: &'static [CategorySpec],
}

/// The least share of a category's dishes a restaurant keeps.
pub const KEEP_SHARE: f64 = 0.6;

const SIZE: GroupSpec = GroupSpec {
    name: "Size",
    min: 1,
    max: 1,
    options: &[("Regular", 0), ("Large", 300)],
};
const SPICE: GroupSpec = GroupSpec {
    name: "Spice",
    min: 1,
    max: 1,
    options: &[("Mild", 0), ("Medium", 0), ("Hot", 0), ("Thai hot", 0)],
};
const PROTEIN: GroupSpec = GroupSpec {
    name: "Protein",
    min: 1,
    max: 1,
    options: &[("Tofu", 0), ("Chicken", 0), ("Beef", 200), ("Shrimp", 400)],
};
const PIZZA_SIZE: GroupSpec = GroupSpec {
    name: "Size",
    min: 1,
    max: 1,
    options: &[("12 inch", 0), ("16 inch", 600), ("18 inch", 900)],
};
const TOPPINGS: GroupSpec = GroupSpec {
    name: "Extra toppings",
    min: 0,
    max: 4,
    options: &[
        ("Pepperoni", 250),
        ("Mushrooms", 200),
        ("Onions", 150),
        ("Sausage", 250),
        ("Olives", 150),
        ("Extra cheese", 200),
    ],
};
const DRINK_SIZE: GroupSpec = GroupSpec {
    name: "Size",
    min: 1,
    max: 1,
    options: &[("Can", 0), ("Bottle", 150)],
};
const BURGER_EXTRAS: GroupSpec = GroupSpec {
    name: "Extras",
    min: 0,
    max: 3,
    options: &[
        ("Bacon", 250),
        ("Avocado", 200),
        ("Fried egg", 150),
        ("Extra patty", 450),
    ],
};
const DONENESS: GroupSpec = GroupSpec {
    name: "Cooked",
    min: 1,
    max: 1,
    options: &[("Medium rare", 0), ("Medium", 0), ("Well done", 0)],
};
const SIDE: GroupSpec = GroupSpec {
    name: "Side",
    min: 0,
    max: 1,
    options: &[
        ("Fries", 350),
        ("Sweet potato fries", 450),
        ("Side salad", 400),
    ],
};
const SALSA: GroupSpec = GroupSpec {
    name: "Salsa",
    min: 1,
    max: 2,
    options: &[
        ("Pico de gallo", 0),
        ("Salsa verde", 0),
        ("Salsa roja", 0),
        ("Habanero", 0),
    ],
};
const MEX_EXTRAS: GroupSpec = GroupSpec {
    name: "Extras",
    min: 0,
    max: 3,
    options: &[
        ("Guacamole", 300),
        ("Sour cream", 100),
        ("Queso", 200),
        ("Jalapeños", 75),
    ],
};
const MEX_FILLING: GroupSpec = GroupSpec {
    name: "Filling",
    min: 1,
    max: 1,
    options: &[
        ("Carnitas", 0),
        ("Chicken tinga", 0),
        ("Al pastor", 0),
        ("Carne asada", 200),
        ("Mushroom", 0),
    ],
};
const RICE: GroupSpec = GroupSpec {
    name: "Rice",
    min: 0,
    max: 1,
    options: &[("Basmati rice", 300), ("Saffron rice", 400)],
};
const BREAD: GroupSpec = GroupSpec {
    name: "Bread",
    min: 0,
    max: 2,
    options: &[("Plain naan", 350), ("Garlic naan", 400), ("Roti", 300)],
};
const ROLL_STYLE: GroupSpec = GroupSpec {
    name: "Style",
    min: 1,
    max: 1,
    options: &[("Regular roll", 0), ("Hand roll", 100), ("Brown rice", 100)],
};
const SAUCES: GroupSpec = GroupSpec {
    name: "Sauces",
    min: 0,
    max: 2,
    options: &[("Spicy mayo", 75), ("Eel sauce", 75), ("Ponzu", 50)],
};
const BOWL_BASE: GroupSpec = GroupSpec {
    name: "Base",
    min: 1,
    max: 1,
    options: &[("Rice", 0), ("Greens", 0), ("Half and half", 0)],
};
const BOWL_EXTRAS: GroupSpec = GroupSpec {
    name: "Extras",
    min: 0,
    max: 3,
    options: &[
        ("Feta", 150),
        ("Extra hummus", 150),
        ("Falafel", 250),
        ("Pickled onions", 75),
    ],
};
const DUMPLING_COUNT: GroupSpec = GroupSpec {
    name: "Pieces",
    min: 1,
    max: 1,
    options: &[("6 pieces", 0), ("12 pieces", 650)],
};

const SODA: ItemSpec = ItemSpec {
    name: "Soda",
    description: "Cola, diet cola or lemon-lime",
    price: (200, 300),
    groups: &[DRINK_SIZE],
};
const WATER: ItemSpec = ItemSpec {
    name: "Sparkling water",
    description: "",
    price: (200, 350),
    groups: &[],
};

/// The catalogue: every cuisine the demo's restaurants serve.
pub const CUISINES: &[CuisineSpec] = &[
    CuisineSpec {
        tags: &["pizza", "italian"],
        names: &[
            "Carmine's Slice",
            "Bleecker Oven",
            "Due Fratelli Pizzeria",
            "Nonna Rosa",
        ],
        prep_minutes: 12..20,
        categories: &[
            CategorySpec {
                name: "Pizzas",
                items: &[
                    ItemSpec {
                        name: "Margherita",
                        description: "Tomato, mozzarella, basil",
                        price: (1400, 1800),
                        groups: &[PIZZA_SIZE, TOPPINGS],
                    },
                    ItemSpec {
                        name: "Pepperoni",
                        description: "Tomato, mozzarella, cup-and-char pepperoni",
                        price: (1600, 2000),
                        groups: &[PIZZA_SIZE, TOPPINGS],
                    },
                    ItemSpec {
                        name: "White pie",
                        description: "Ricotta, mozzarella, garlic",
                        price: (1600, 2100),
                        groups: &[PIZZA_SIZE, TOPPINGS],
                    },
                    ItemSpec {
                        name: "Vodka pie",
                        description: "Vodka sauce, fresh mozzarella",
                        price: (1800, 2300),
                        groups: &[PIZZA_SIZE, TOPPINGS],
                    },
                ],
            },
            CategorySpec {
                name: "Starters",
                items: &[
                    ItemSpec {
                        name: "Garlic knots",
                        description: "Six, with marinara",
                        price: (500, 750),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Caesar salad",
                        description: "Romaine, parmesan, croutons",
                        price: (900, 1300),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Mozzarella sticks",
                        description: "",
                        price: (750, 1000),
                        groups: &[],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[SODA, WATER],
            },
        ],
    },
    CuisineSpec {
        tags: &["thai"],
        names: &[
            "Lemongrass Kitchen",
            "Bangkok Street",
            "Siam Garden",
            "Tuk Tuk",
        ],
        prep_minutes: 10..18,
        categories: &[
            CategorySpec {
                name: "Noodles",
                items: &[
                    ItemSpec {
                        name: "Pad thai",
                        description: "Rice noodles, tamarind, peanuts",
                        price: (1300, 1650),
                        groups: &[PROTEIN, SPICE],
                    },
                    ItemSpec {
                        name: "Pad see ew",
                        description: "Wide noodles, Chinese broccoli, sweet soy",
                        price: (1300, 1650),
                        groups: &[PROTEIN, SPICE],
                    },
                    ItemSpec {
                        name: "Drunken noodles",
                        description: "Wide noodles, holy basil, chili",
                        price: (1350, 1700),
                        groups: &[PROTEIN, SPICE],
                    },
                ],
            },
            CategorySpec {
                name: "Curries",
                items: &[
                    ItemSpec {
                        name: "Green curry",
                        description: "Coconut milk, Thai eggplant, basil",
                        price: (1400, 1750),
                        groups: &[PROTEIN, SPICE],
                    },
                    ItemSpec {
                        name: "Massaman curry",
                        description: "Potato, onion, peanuts",
                        price: (1450, 1800),
                        groups: &[PROTEIN, SPICE],
                    },
                    ItemSpec {
                        name: "Panang curry",
                        description: "Kaffir lime, red curry",
                        price: (1400, 1750),
                        groups: &[PROTEIN, SPICE],
                    },
                ],
            },
            CategorySpec {
                name: "Starters",
                items: &[
                    ItemSpec {
                        name: "Spring rolls",
                        description: "Four, with sweet chili sauce",
                        price: (600, 850),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Tom yum soup",
                        description: "Hot and sour, mushrooms, lemongrass",
                        price: (650, 900),
                        groups: &[SPICE],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[
                    ItemSpec {
                        name: "Thai iced tea",
                        description: "",
                        price: (450, 600),
                        groups: &[],
                    },
                    SODA,
                ],
            },
        ],
    },
    CuisineSpec {
        tags: &["japanese", "sushi"],
        names: &["Sushi Ren", "Koi Counter", "Hana Roll Bar", "Umi Sushi"],
        prep_minutes: 12..22,
        categories: &[
            CategorySpec {
                name: "Rolls",
                items: &[
                    ItemSpec {
                        name: "Salmon avocado roll",
                        description: "",
                        price: (800, 1050),
                        groups: &[ROLL_STYLE, SAUCES],
                    },
                    ItemSpec {
                        name: "Spicy tuna roll",
                        description: "",
                        price: (850, 1100),
                        groups: &[ROLL_STYLE, SAUCES],
                    },
                    ItemSpec {
                        name: "Shrimp tempura roll",
                        description: "",
                        price: (950, 1250),
                        groups: &[ROLL_STYLE, SAUCES],
                    },
                    ItemSpec {
                        name: "Cucumber roll",
                        description: "",
                        price: (550, 750),
                        groups: &[ROLL_STYLE],
                    },
                ],
            },
            CategorySpec {
                name: "Plates",
                items: &[
                    ItemSpec {
                        name: "Sashimi plate",
                        description: "Twelve pieces, chef's choice",
                        price: (2600, 3400),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Chicken teriyaki",
                        description: "With rice and salad",
                        price: (1600, 2000),
                        groups: &[],
                    },
                ],
            },
            CategorySpec {
                name: "Sides",
                items: &[
                    ItemSpec {
                        name: "Miso soup",
                        description: "",
                        price: (300, 450),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Edamame",
                        description: "Sea salt",
                        price: (500, 650),
                        groups: &[],
                    },
                    WATER,
                ],
            },
        ],
    },
    CuisineSpec {
        tags: &["mexican"],
        names: &[
            "La Esquina",
            "Taqueria Lupita",
            "El Rey del Taco",
            "Cantina Azul",
        ],
        prep_minutes: 8..15,
        categories: &[
            CategorySpec {
                name: "Tacos and burritos",
                items: &[
                    ItemSpec {
                        name: "Tacos",
                        description: "Three, corn tortillas, onion, cilantro",
                        price: (1100, 1400),
                        groups: &[MEX_FILLING, SALSA, MEX_EXTRAS],
                    },
                    ItemSpec {
                        name: "Burrito",
                        description: "Rice, black beans, cheese",
                        price: (1250, 1550),
                        groups: &[MEX_FILLING, SALSA, MEX_EXTRAS],
                    },
                    ItemSpec {
                        name: "Quesadilla",
                        description: "Flour tortilla, Oaxaca cheese",
                        price: (1100, 1400),
                        groups: &[MEX_FILLING, MEX_EXTRAS],
                    },
                    ItemSpec {
                        name: "Burrito bowl",
                        description: "Rice, beans, lettuce, corn",
                        price: (1300, 1600),
                        groups: &[MEX_FILLING, SALSA, MEX_EXTRAS],
                    },
                ],
            },
            CategorySpec {
                name: "Sides",
                items: &[
                    ItemSpec {
                        name: "Chips and guacamole",
                        description: "",
                        price: (800, 1100),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Elote",
                        description: "Grilled corn, cotija, chili",
                        price: (500, 700),
                        groups: &[],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[
                    ItemSpec {
                        name: "Horchata",
                        description: "",
                        price: (400, 550),
                        groups: &[],
                    },
                    SODA,
                ],
            },
        ],
    },
    CuisineSpec {
        tags: &["burgers", "american"],
        names: &[
            "Corner Burger",
            "Hudson Grill",
            "Stack House",
            "The Patty Shop",
        ],
        prep_minutes: 10..18,
        categories: &[
            CategorySpec {
                name: "Burgers",
                items: &[
                    ItemSpec {
                        name: "Classic burger",
                        description: "Lettuce, tomato, pickles, house sauce",
                        price: (1300, 1650),
                        groups: &[DONENESS, BURGER_EXTRAS, SIDE],
                    },
                    ItemSpec {
                        name: "Cheeseburger",
                        description: "American cheese, onions",
                        price: (1400, 1750),
                        groups: &[DONENESS, BURGER_EXTRAS, SIDE],
                    },
                    ItemSpec {
                        name: "Veggie burger",
                        description: "Black bean patty, chipotle mayo",
                        price: (1300, 1600),
                        groups: &[BURGER_EXTRAS, SIDE],
                    },
                    ItemSpec {
                        name: "Crispy chicken sandwich",
                        description: "Buttermilk fried, slaw",
                        price: (1350, 1650),
                        groups: &[SIDE],
                    },
                ],
            },
            CategorySpec {
                name: "Sides",
                items: &[
                    ItemSpec {
                        name: "Fries",
                        description: "",
                        price: (450, 600),
                        groups: &[SIZE],
                    },
                    ItemSpec {
                        name: "Onion rings",
                        description: "",
                        price: (550, 700),
                        groups: &[SIZE],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[
                    ItemSpec {
                        name: "Milkshake",
                        description: "Vanilla, chocolate or strawberry",
                        price: (700, 900),
                        groups: &[],
                    },
                    SODA,
                ],
            },
        ],
    },
    CuisineSpec {
        tags: &["indian"],
        names: &[
            "Saffron House",
            "Tandoor Nights",
            "Curry Hill Kitchen",
            "Masala Club",
        ],
        prep_minutes: 15..25,
        categories: &[
            CategorySpec {
                name: "Curries",
                items: &[
                    ItemSpec {
                        name: "Chicken tikka masala",
                        description: "Tomato cream sauce",
                        price: (1700, 2100),
                        groups: &[SPICE, RICE, BREAD],
                    },
                    ItemSpec {
                        name: "Saag paneer",
                        description: "Spinach, house cheese",
                        price: (1500, 1850),
                        groups: &[SPICE, RICE, BREAD],
                    },
                    ItemSpec {
                        name: "Lamb vindaloo",
                        description: "Vinegar, chili, potato",
                        price: (1900, 2300),
                        groups: &[SPICE, RICE, BREAD],
                    },
                    ItemSpec {
                        name: "Chana masala",
                        description: "Chickpeas, onion, tomato",
                        price: (1300, 1600),
                        groups: &[SPICE, RICE, BREAD],
                    },
                ],
            },
            CategorySpec {
                name: "Starters",
                items: &[
                    ItemSpec {
                        name: "Samosas",
                        description: "Two, potato and peas",
                        price: (600, 800),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Onion bhaji",
                        description: "",
                        price: (600, 800),
                        groups: &[],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[
                    ItemSpec {
                        name: "Mango lassi",
                        description: "",
                        price: (450, 600),
                        groups: &[],
                    },
                    WATER,
                ],
            },
        ],
    },
    CuisineSpec {
        tags: &["chinese", "dumplings"],
        names: &[
            "Golden Dragon",
            "Mott Street Dumpling",
            "Lucky Noodle",
            "Jade Palace",
        ],
        prep_minutes: 8..16,
        categories: &[
            CategorySpec {
                name: "Dumplings",
                items: &[
                    ItemSpec {
                        name: "Pork and chive dumplings",
                        description: "Pan-fried",
                        price: (700, 950),
                        groups: &[DUMPLING_COUNT],
                    },
                    ItemSpec {
                        name: "Soup dumplings",
                        description: "Pork, ginger broth",
                        price: (900, 1200),
                        groups: &[DUMPLING_COUNT],
                    },
                    ItemSpec {
                        name: "Vegetable dumplings",
                        description: "Steamed",
                        price: (650, 900),
                        groups: &[DUMPLING_COUNT],
                    },
                ],
            },
            CategorySpec {
                name: "Mains",
                items: &[
                    ItemSpec {
                        name: "General Tso's chicken",
                        description: "With white rice",
                        price: (1350, 1650),
                        groups: &[SPICE],
                    },
                    ItemSpec {
                        name: "Beef lo mein",
                        description: "",
                        price: (1300, 1600),
                        groups: &[SIZE],
                    },
                    ItemSpec {
                        name: "Mapo tofu",
                        description: "Sichuan peppercorn, chili bean",
                        price: (1200, 1500),
                        groups: &[SPICE],
                    },
                    ItemSpec {
                        name: "Vegetable fried rice",
                        description: "",
                        price: (1000, 1300),
                        groups: &[SIZE],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[SODA],
            },
        ],
    },
    CuisineSpec {
        tags: &["mediterranean", "halal"],
        names: &[
            "Olive and Thyme",
            "Aegean Grill",
            "Falafel Corner",
            "Levant Kitchen",
        ],
        prep_minutes: 8..15,
        categories: &[
            CategorySpec {
                name: "Bowls and wraps",
                items: &[
                    ItemSpec {
                        name: "Chicken shawarma bowl",
                        description: "Hummus, tabbouleh, tahini",
                        price: (1350, 1650),
                        groups: &[BOWL_BASE, BOWL_EXTRAS],
                    },
                    ItemSpec {
                        name: "Falafel wrap",
                        description: "Pickles, tahini, tomato",
                        price: (1050, 1300),
                        groups: &[BOWL_EXTRAS],
                    },
                    ItemSpec {
                        name: "Lamb gyro platter",
                        description: "With rice and white sauce",
                        price: (1500, 1850),
                        groups: &[BOWL_BASE, BOWL_EXTRAS],
                    },
                ],
            },
            CategorySpec {
                name: "Mezze",
                items: &[
                    ItemSpec {
                        name: "Hummus and pita",
                        description: "",
                        price: (700, 900),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Baba ghanoush",
                        description: "",
                        price: (700, 900),
                        groups: &[],
                    },
                    ItemSpec {
                        name: "Stuffed grape leaves",
                        description: "Six",
                        price: (650, 850),
                        groups: &[],
                    },
                ],
            },
            CategorySpec {
                name: "Drinks",
                items: &[
                    ItemSpec {
                        name: "Mint lemonade",
                        description: "",
                        price: (450, 600),
                        groups: &[],
                    },
                    WATER,
                ],
            },
        ],
    },
];

/// The menu document `PUT /v1/merchants/{id}/menu` takes (the fields the demo sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuDoc {
    /// The city's currency.
    pub currency: &'static str,
    /// The categories in order.
    pub categories: Vec<CategoryDoc>,
}

/// A category of a [`MenuDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryDoc {
    /// Its name.
    pub name: &'static str,
    /// Its items.
    pub items: Vec<ItemDoc>,
}

/// An item of a [`MenuDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemDoc {
    /// Its name.
    pub name: &'static str,
    /// Its description.
    pub description: &'static str,
    /// Its price, cents.
    pub price: i64,
    /// Its option groups.
    pub option_groups: Vec<GroupDoc>,
}

/// An option group of a [`MenuDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupDoc {
    /// Its name.
    pub name: &'static str,
    /// Fewest choices.
    pub min: u32,
    /// Most choices.
    pub max: u32,
    /// Its options.
    pub options: Vec<OptionDoc>,
}

/// An option of a [`MenuDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionDoc {
    /// Its name.
    pub name: &'static str,
    /// What it adds to the item's price, cents.
    pub price_delta: i64,
}

/// Prices are drawn in steps of this many cents.
const PRICE_STEP: i64 = 25;

/// A restaurant's menu of `cuisine`, drawn with `rng`: each category keeps between [`KEEP_SHARE`] and
/// all of its dishes (in the catalogue's order), and each dish's price is drawn from its range in steps
/// of a quarter. The same generator state always gives the same menu.
pub fn menu_for(cuisine: &CuisineSpec, rng: &mut impl Rng) -> MenuDoc {
    let categories = cuisine
        .categories
        .iter()
        .map(|category| {
            let n = category.items.len();
            let least = ((n as f64 * KEEP_SHARE).ceil() as usize).clamp(1, n.max(1));
            let keep = rng.random_range(least..=n.max(least));
            let mut chosen: Vec<usize> = (0..n).collect();
            chosen.shuffle(rng);
            chosen.truncate(keep);
            chosen.sort_unstable();
            let items = chosen
                .into_iter()
                .map(|i| {
                    let spec = &category.items[i];
                    let (lo, hi) = spec.price;
                    let steps = (hi - lo).max(0) / PRICE_STEP;
                    let price = lo + PRICE_STEP * rng.random_range(0..=steps);
                    ItemDoc {
                        name: spec.name,
                        description: spec.description,
                        price,
                        option_groups: spec
                            .groups
                            .iter()
                            .map(|g| GroupDoc {
                                name: g.name,
                                min: g.min,
                                max: g.max,
                                options: g
                                    .options
                                    .iter()
                                    .map(|&(name, price_delta)| OptionDoc { name, price_delta })
                                    .collect(),
                            })
                            .collect(),
                    }
                })
                .collect();
            CategoryDoc {
                name: category.name,
                items,
            }
        })
        .collect();
    MenuDoc {
        currency: "USD",
        categories,
    }
}
